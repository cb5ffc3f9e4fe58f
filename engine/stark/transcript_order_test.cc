// The prover and the verifier walk the same transcript: the same operations with the same
// labels and message sizes, in the same order, for AIRs with and without LogUp, one table
// or many, with and without FRI layers and proof of work. A label or round out of step on
// either side fails here before any proof is rejected.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/hash/transcript.h"
#include "engine/protocol/protocol.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"
#include "engine/testing/random_air.h"
#include "gtest/gtest.h"

namespace prover::stark {
namespace {

// The transcript operations of proving, then of verifying, the same statement.
std::pair<std::vector<std::string>, std::vector<std::string>> BothSides(
    const air::WorkloadInstance& w, ProofParams params) {
  auto backend = backend::MakeCpuBackend();
  ProveOptions o;
  o.params = params;
  o.min_security_bits = 0;
  std::vector<uint8_t> bytes;
  std::vector<std::string> prover, verifier;
  {
    TranscriptRecorder recorder;
    auto proof = Prove(*backend, w.air, w.trace, w.public_inputs, o);
    EXPECT_TRUE(proof.ok()) << proof.status();
    if (!proof.ok()) return {};
    bytes = EncodeProof(proof->proof);
    prover = recorder.operations();
  }
  {
    TranscriptRecorder recorder;
    VerifyOptions v;
    v.min_security_bits = 0;
    const absl::Status s = VerifyEncoded(w.air, w.public_inputs, bytes, v);
    EXPECT_TRUE(s.ok()) << s;
    verifier = recorder.operations();
  }
  return {prover, verifier};
}

void ExpectSameWalk(const air::WorkloadInstance& w, ProofParams params, const std::string& what) {
  const auto [prover, verifier] = BothSides(w, params);
  ASSERT_FALSE(prover.empty()) << what;
  for (size_t i = 0; i < std::max(prover.size(), verifier.size()); ++i) {
    ASSERT_EQ(i < prover.size() ? prover[i] : "(nothing)",
              i < verifier.size() ? verifier[i] : "(nothing)")
        << what << ": operation " << i << " differs (prover, verifier)";
  }
}

TEST(TranscriptOrder, ProverAndVerifierWalkTheSameTranscript) {
  auto fib = air::Fibonacci(8);
  ASSERT_TRUE(fib.ok());
  ExpectSameWalk(*fib, ProofParams{2, 8, 4, 2, 2}, "fibonacci");
  ExpectSameWalk(*fib, ProofParams{1, 4, 0, 1, 8}, "fibonacci without FRI layers or grinding");
  auto zkvm = air::Zkvm(10, 1);
  ASSERT_TRUE(zkvm.ok()) << zkvm.status();
  ExpectSameWalk(*zkvm, ProofParams{3, 6, 2, 3, 3}, "zkvm");
  for (uint64_t seed = 0; seed < 4; ++seed) {
    testing::RandomAirOptions o;
    o.seed = 77 + seed;
    o.num_tables = 2 + int(seed);
    o.num_lookup_tables = 1;
    o.max_degree = 3;
    ExpectSameWalk(testing::RandomAir(o), ProofParams{2, 5, 1, 1 + uint32_t(seed % 3), 1},
                   absl::StrCat("random AIR seed ", o.seed));
  }
}

// Every label of the protocol is used, and nothing else is: a zkvm proof (LogUp buses,
// several tables, FRI layers, grinding) walks all of them.
TEST(TranscriptOrder, EveryLabelIsUsedAndNoOther) {
  auto zkvm = air::Zkvm(10, 1);
  ASSERT_TRUE(zkvm.ok()) << zkvm.status();
  const auto [prover, verifier] = BothSides(*zkvm, ProofParams{3, 6, 2, 3, 3});
  std::set<std::string> used;
  for (const std::string& op : prover) {
    if (op.rfind("proof of work", 0) == 0) continue;
    const size_t a = op.find(' ') + 1, b = op.find(' ', a);
    used.insert(op.substr(a, b == std::string::npos ? std::string::npos : b - a));
  }
  std::set<std::string> all;
  for (std::string_view l : label::kAll) all.insert(std::string(l));
  EXPECT_EQ(used, all);
  EXPECT_EQ(all.size(), std::size(label::kAll)) << "labels are distinct";
}

}  // namespace
}  // namespace prover::stark
