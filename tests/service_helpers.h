// Helpers of the service integration tests and of service-attack (no GoogleTest here): the
// two tenants' keys, temporary data directories, requests, a raw gRPC stub for calls the
// client library does not make, and the metrics endpoint.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/air/air_proto.h"
#include "engine/air/trace.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/stark/verifier.h"
#include "grpcpp/grpcpp.h"
#include "prover/v1/prover.grpc.pb.h"
#include "server/sha256.h"
#include "tests/proverd_process.h"

namespace prover {

inline constexpr char kAlpha[] = "key-alpha";
inline constexpr char kBeta[] = "key-beta";

inline std::string TempDir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("proverd_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string KeysFile(const std::string& dir) {
  const std::string path = dir + "/keys.txt";
  std::ofstream(path) << "# test tenants\nalpha " << server::Sha256Hex(kAlpha) << "\nbeta "
                      << server::Sha256Hex(kBeta) << "\n";
  return path;
}

inline v1::SubmitProofRequest Fib(uint32_t log_rows, std::string request_id = "") {
  v1::SubmitProofRequest r;
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(log_rows);
  r.set_request_id(std::move(request_id));
  return r;
}

inline bool IsFinal(const v1::Job& j) {
  return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED;
}

// GET http://ADDR/PATH (the metrics endpoint).
inline std::string HttpGet(const std::string& address, const std::string& path) {
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)::write(fd, req.data(), req.size());
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

inline double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

inline absl::Status VerifyFib(uint32_t log_rows, const std::string& proof) {
  auto w = air::Fibonacci(int(log_rows));
  return stark::VerifyEncoded(
      w->air, w->public_inputs,
      std::span(reinterpret_cast<const uint8_t*>(proof.data()), proof.size()));
}

// A raw stub with tenant alpha's key, for calls the client library does not make (slow or
// cancelled streams).
struct RawClient {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Prover::Stub> stub;
  // `window`: the stream flow-control window this client offers (small: a reader that does
  // not read holds the server's stream open).
  explicit RawClient(const std::string& target, int window = 0) {
    grpc::ChannelArguments args;
    if (window > 0) {
      args.SetInt("grpc.http2.bdp_probe", 0);
      args.SetInt("grpc.http2.lookahead_bytes", window);
    }
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    stub = v1::Prover::NewStub(channel);
  }
  static void Authorize(grpc::ClientContext& ctx, const char* key = kAlpha) {
    ctx.AddMetadata("authorization", std::string("Bearer ") + key);
  }
};

// A user statement: one table of `columns` columns (each column constant along the rows,
// with a transition constraint saying so), 2^log_rows rows.
inline v1::SubmitProofRequest WideStatement(uint32_t columns, int log_rows) {
  air::Air air;
  air.name = "wide";
  air.max_constraint_degree = 2;
  air::Table t;
  t.name = "t";
  t.num_columns = columns;
  for (uint32_t c = 0; c < columns; ++c) {
    const uint32_t cur = t.Add(air::Expr::Column(c)), next = t.Add(air::Expr::Column(c, 1));
    t.constraints.push_back({air::ConstraintKind::kTransition,
                             t.Add(air::Expr::Binary(air::ExprOp::kSub, next, cur)), ""});
  }
  air.tables.push_back(std::move(t));
  air::Trace trace;
  trace.tables.emplace_back(columns, log_rows);
  for (uint32_t c = 0; c < columns; ++c) {
    for (size_t r = 0; r < trace.tables[0].rows(); ++r)
      trace.tables[0].column(c)[r] = Fp::FromU64(c);
  }
  v1::SubmitProofRequest req;
  *req.mutable_user()->mutable_air() = air::AirToProto(air);
  const auto bytes = air::EncodeTrace(trace);
  req.mutable_user()->set_trace(std::string(bytes.begin(), bytes.end()));
  return req;
}

// How long `call` takes.
template <typename F>
inline double Seconds(F&& call) {
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace prover
