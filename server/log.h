// JSON-lines logs on stderr: one object per line with the time, the level, the message and
// optional fields (job_id, tenant, ...). Thread-safe; lines never interleave.
//
//   Log(LogLevel::kInfo, "job succeeded", {{"job_id", id}, {"seconds", "1.25"}});
//   {"ts":"2026-11-21T10:00:00.123Z","level":"info","msg":"job succeeded","job_id":"...",...}
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prover::server {

enum class LogLevel { kDebug = 0, kInfo, kWarning, kError };

// Lines below the level are dropped (default kInfo).
void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view name, LogLevel* level);

using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
void Log(LogLevel level, std::string_view message, const std::vector<LogField>& fields);

// The trace id of a W3C `traceparent` value ("00-<32 hex>-<16 hex>-<2 hex>"); empty when the
// value is not a valid traceparent (which the W3C rules say to ignore).
std::string TraceIdOf(std::string_view traceparent);

// Routes gRPC's own log lines (accept failures, handshake errors, ...) into this log as
// JSON lines ("msg":"grpc", with the message and its source location), so the stream stays
// one JSON object per line. Call before gRPC is used.
void RouteGrpcLogs();

// The string as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace prover::server
