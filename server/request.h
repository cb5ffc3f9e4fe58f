// What a SubmitProofRequest asks for: validation with field paths, the content hash that
// makes submission idempotent, the memory estimate for admission, and the statement
// (AIR, trace, public inputs) rebuilt when the job runs.
//
// Everything here is a pure function of the request (and the trace bytes); nothing here
// touches the job store or the engines.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/trace.h"
#include "engine/air/workload.h"
#include "engine/air/workloads/builtin.h"
#include "engine/backend/backend.h"
#include "engine/protocol/params.h"
#include "prover/v1/prover.pb.h"

namespace prover::server {

struct RequestLimits {
  int max_log_rows = 24;  // the largest table a job may have
  // Names, node counts and the encoded size of user AIRs (air::Validate's limits).
  air::AirLimits air;
  // The largest proof a statement may produce (stark::ProofBytesBound), so that GetProof
  // and VerifyProof can always serve it back. 0: no limit.
  uint64_t max_proof_bytes = 0;
  // Floors of the two security figures (docs/PROTOCOL.md section 2).
  uint32_t min_security_bits = stark::kDefaultMinSecurityBits;
  uint32_t min_proven_security_bits = 0;
  uint64_t max_trace_bytes = uint64_t{1} << 30;
  uint64_t max_deadline_ms = uint64_t{7} * 24 * 3600 * 1000;
};

// A validated request. `request` is the request without the trace (it goes to the input
// artifact); `log_rows` are the table heights.
struct PreparedJob {
  std::string workload;  // fibonacci, zkvm, custom
  air::Air air;
  v1::SubmitProofRequest request;
  std::vector<int> log_rows;
  stark::ProofParams params;
  std::string content_hash;  // hex
  uint64_t trace_bytes = 0;
};

// INVALID_ARGUMENT whose message starts with the path of the bad field ("request_id",
// "builtin.log_rows", "user.air.tables[0]...", "user.trace: ...", "user.public_inputs[2]",
// "options.num_queries", "priority", "deadline_ms"). `trace` is the user statement's
// trace (inline or uploaded); it must be empty for builtin statements. The request's
// user.trace must already be cleared (the caller moves it into `trace`).
absl::StatusOr<PreparedJob> PrepareJob(const v1::SubmitProofRequest& request,
                                       std::string_view trace, const RequestLimits& limits);

// The sizes that can be checked without copying anything (the encoded AIR against
// limits.air.max_encoded_bytes): run first, on the request as received.
absl::Status CheckRequestSize(const v1::SubmitProofRequest& request, const RequestLimits& limits);

// SHA-256 over the request without its request id (deterministic serialization) followed
// by the trace bytes: the same content submitted inline or by upload hashes the same.
std::string ContentHash(const v1::SubmitProofRequest& request_without_trace,
                        std::string_view trace);

// At most `max` bytes of `s` for an error message or a log line, with the full size when
// cut: an error never echoes an unbounded input.
std::string Excerpt(std::string_view s, size_t max = 64);

// The proof parameters of a request's options for a statement's AIR and heights: zero
// fields mean the defaults; `security` names a preset, which chooses them all (and
// combines with no field). INVALID_ARGUMENT naming the field.
absl::StatusOr<stark::ProofParams> ParamsOf(const v1::ProofOptions& options, const air::Air& air,
                                            std::span<const int> log_rows);

// The AIR a statement is about (builtin AIRs are the workloads' own).
absl::StatusOr<air::Air> AirOf(const v1::SubmitProofRequest& request,
                               const air::AirLimits& limits = air::AirLimits());

// The values of a request's repeated field at `path` ("user.public_inputs") as field
// elements: INVALID_ARGUMENT naming the first that is not canonical (at least p).
absl::StatusOr<std::vector<Fp>> FieldElements(
    const google::protobuf::RepeatedField<uint64_t>& values, std::string_view path);

// The builtin statement's value of the field that sizes workload w (its log_rows or its
// scale; air/workloads/builtin.h).
int WorkloadSize(const v1::BuiltinStatement& b, const air::BuiltinWorkload& w);

// The statement to prove: the builtin workload generated, or the user AIR with the trace.
absl::StatusOr<air::WorkloadInstance> LoadStatement(const v1::SubmitProofRequest& request,
                                                    std::string_view trace);

// Peak bytes of a proof on `backend` plus what the service holds besides (the trace).
uint64_t EstimateJobBytes(const backend::Backend& backend, const air::Air& air,
                          const std::vector<int>& log_rows, const stark::ProofParams& params);

}  // namespace prover::server
