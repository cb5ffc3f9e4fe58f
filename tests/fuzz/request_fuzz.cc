// libFuzzer target: request validation. Any bytes parsed as a SubmitProofRequest (the
// trace moved out, as the server does) are either accepted, with a deterministic content
// hash and a statement that loads, or refused with INVALID_ARGUMENT whose message names a
// field path; never a crash, never another code. PROVER_FUZZ_SEEDS=DIR writes seeds there.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/air/air_proto.h"
#include "engine/air/workloads/fibonacci.h"
#include "prover/v1/prover.pb.h"
#include "server/request.h"

namespace {

void WriteSeed(const char* dir, const std::string& name, const prover::v1::SubmitProofRequest& r) {
  std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << r.SerializeAsString();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PROVER_FUZZ_SEEDS")) {
    prover::v1::SubmitProofRequest fib;
    fib.set_request_id("seed-1");
    fib.mutable_builtin()->set_workload("fibonacci");
    fib.mutable_builtin()->set_log_rows(5);
    WriteSeed(dir, "builtin_fib", fib);
    prover::v1::SubmitProofRequest zk;
    zk.mutable_builtin()->set_workload("zkvm");
    zk.mutable_builtin()->set_scale(10);
    zk.mutable_options()->set_num_queries(40);
    WriteSeed(dir, "builtin_zkvm", zk);
    auto w = prover::air::Fibonacci(3);
    prover::v1::SubmitProofRequest user;
    *user.mutable_user()->mutable_air() = prover::air::AirToProto(w->air);
    for (auto x : w->public_inputs) user.mutable_user()->add_public_inputs(x.value());
    const auto trace = prover::air::EncodeTrace(w->trace);
    user.mutable_user()->set_trace(std::string(trace.begin(), trace.end()));
    WriteSeed(dir, "user_fib", user);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  prover::v1::SubmitProofRequest request;
  if (!request.ParseFromArray(data, int(size))) return 0;
  std::string trace;
  if (request.has_user()) trace.swap(*request.mutable_user()->mutable_trace());
  prover::server::RequestLimits limits;
  limits.max_log_rows = 10;  // keeps accepted statements small enough to load
  auto prepared = prover::server::PrepareJob(request, trace, limits);
  if (!prepared.ok()) {
    const std::string m(prepared.status().message());
    if (prepared.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    if (m.find(": ") == std::string::npos) __builtin_trap();  // "path: what"
    return 0;
  }
  if (prover::server::ContentHash(request, trace) != prepared->content_hash) __builtin_trap();
  // zkvm statements take seconds to generate; the builtin generators have their own tests.
  if (request.has_user() || request.builtin().workload() == "fibonacci") {
    auto statement = prover::server::LoadStatement(prepared->request, trace);
    if (!statement.ok()) __builtin_trap();
  }
  return 0;
}
