// Completeness: honest proofs of many shapes verify; determinism; refusals; the golden
// proof; the backend's call-order contract.
#include "engine/stark/prover.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "engine/air/checker.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/base/failure.h"
#include "engine/stark/verifier.h"
#include "engine/testing/random_air.h"
#include "engine/testing/simd_levels.h"
#include "engine/testing/stop_contract.h"
#include "engine/testing/wrapped_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tbb/task_arena.h"

namespace prover::stark {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

testing::RandomAirOptions Shape(uint64_t seed, int tables, int lookup_tables, uint32_t max_degree) {
  testing::RandomAirOptions o;
  o.seed = seed;
  o.num_tables = tables;
  o.num_lookup_tables = lookup_tables;
  o.max_degree = max_degree;
  return o;
}

ProveOptions Fast(ProofParams params) {
  ProveOptions o;
  o.params = params;
  o.min_security_bits = 0;
  return o;
}

VerifyOptions NoFloor() {
  VerifyOptions v;
  v.min_security_bits = 0;
  return v;
}

void ProveAndVerify(const air::WorkloadInstance& w, const ProveOptions& options,
                    const std::string& what) {
  auto backend = backend::MakeCpuBackend();
  auto result = Prove(*backend, w.air, w.trace, w.public_inputs, options);
  ASSERT_TRUE(result.ok()) << what << ": " << result.status();
  const std::vector<uint8_t> bytes = EncodeProof(result->proof);
  VerifyOptions v = NoFloor();
  EXPECT_TRUE(VerifyEncoded(w.air, w.public_inputs, bytes, v).ok())
      << what << ": " << VerifyEncoded(w.air, w.public_inputs, bytes, v);
}

TEST(Prover, FibonacciDefaultParameters) {
  auto w = air::Fibonacci(10);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(result->proof.security_bits, 100u);
  EXPECT_TRUE(Verify(w->air, w->public_inputs, result->proof).ok());
  auto decoded = DecodeProof(EncodeProof(result->proof));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, result->proof);
  // Every stage but the up-front check ran and was timed, in order.
  ASSERT_EQ(result->timings.size(), static_cast<size_t>(Stage::kCount) - 1);
  for (size_t i = 0; i < result->timings.size(); ++i) {
    EXPECT_EQ(result->timings[i].stage, static_cast<Stage>(i + 1));
  }
}

// Every folding arity, blowup and final size on one table, heights 2^1 .. 2^12.
TEST(Prover, FibonacciEveryArityBlowupAndFinalSize) {
  for (int log_rows : {1, 2, 3, 5, 8, 12}) {
    auto w = air::Fibonacci(log_rows, Fp::FromU64(3), Fp::FromU64(5));
    ASSERT_TRUE(w.ok());
    for (uint32_t b = 1; b <= 4; ++b) {
      for (uint32_t a = 1; a <= 4; ++a) {
        for (uint32_t f : {0u, 2u, 10u}) {
          ProofParams p{b, 6, 1, a, f};
          ProveAndVerify(*w, Fast(p),
                         absl::StrCat("log_rows ", log_rows, " b ", b, " a ", a, " f ", f));
        }
      }
    }
  }
}

// Random multi-table AIRs: 1 to 15 tables, buses with several interactions and
// multiplicities, degrees 2 to 4, every arity and blowup.
TEST(Prover, RandomMultiTableAirs) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    testing::RandomAirOptions o;
    o.seed = seed;
    o.num_tables = 1 + int(seed % 15);
    o.max_degree = 2 + uint32_t(seed % 3);
    o.num_lookup_tables = o.num_tables == 1 ? 0 : 1 + int(seed % 3) % (o.num_tables - 1);
    o.min_log_rows = 1;
    o.max_log_rows = 7;
    const air::WorkloadInstance w = testing::RandomAir(o);
    ASSERT_TRUE(air::Validate(w.air).ok()) << "seed " << seed << ": " << air::Validate(w.air);
    auto report = air::CheckTrace(w.air, w.trace, w.public_inputs);
    ASSERT_TRUE(report.ok() && report->ok()) << "seed " << seed << ": " << report->Describe(w.air);
    const uint32_t min_b = o.max_degree <= 2 ? 1 : o.max_degree == 3 ? 1 : 2;
    ProofParams p{min_b + uint32_t(seed % (5 - min_b)), 5, 2, 1 + uint32_t(seed % 4),
                  uint32_t(seed % 4)};
    ProveAndVerify(w, Fast(p), absl::StrCat("seed ", seed));
  }
}

TEST(Prover, ZkvmAcrossArities) {
  auto w = air::Zkvm(10, 1);
  ASSERT_TRUE(w.ok()) << w.status();
  for (uint32_t a : {1u, 4u}) {
    ProveAndVerify(*w, Fast(ProofParams{2, 6, 2, a, 3}), absl::StrCat("zkvm arity ", 1u << a));
  }
}

// Heights up to 2^16 in one job, with tables entering FRI at many layers.
TEST(Prover, MixedHeightsUpTo65536) {
  testing::RandomAirOptions o;
  o.seed = 1234;
  o.num_tables = 6;
  o.num_lookup_tables = 2;
  o.min_log_rows = 1;
  o.max_log_rows = 16;
  air::WorkloadInstance w = testing::RandomAir(o);
  ProveAndVerify(w, Fast(ProofParams{1, 8, 4, 2, 1}), "mixed heights");
}

TEST(Prover, SameBytesWithOneAndTwoThreads) {
  testing::RandomAirOptions o;
  o.seed = 77;
  o.num_tables = 5;
  o.num_lookup_tables = 2;
  o.max_log_rows = 12;
  const air::WorkloadInstance w = testing::RandomAir(o);
  auto prove_with = [&](int threads) {
    tbb::task_arena arena(threads);
    std::vector<uint8_t> bytes;
    arena.execute([&] {
      auto backend = backend::MakeCpuBackend();
      auto r = Prove(*backend, w.air, w.trace, w.public_inputs, Fast(ProofParams{2, 10, 6, 3, 2}));
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok()) bytes = EncodeProof(r->proof);
    });
    return bytes;
  };
  const std::vector<uint8_t> one = prove_with(1), two = prove_with(2);
  ASSERT_FALSE(one.empty());
  EXPECT_EQ(one, two);
}

// The CPU engine's packed kernels (NTT, Keccak, constraint evaluation, DEEP, folds) give
// the same proof on every SIMD path.
TEST(Prover, SameBytesOnEverySimdPath) {
  auto zkvm = air::Zkvm(10, 3);
  ASSERT_TRUE(zkvm.ok()) << zkvm.status();
  const air::WorkloadInstance random = testing::RandomAir(Shape(21, 3, 1, 4));
  auto backend = backend::MakeCpuBackend();
  for (const air::WorkloadInstance* w :
       {static_cast<const air::WorkloadInstance*>(&*zkvm), &random}) {
    std::vector<uint8_t> first;
    prover::testing::ForEachSimdLevel([&](SimdLevel) {
      auto r =
          Prove(*backend, w->air, w->trace, w->public_inputs, Fast(ProofParams{2, 8, 2, 2, 1}));
      ASSERT_TRUE(r.ok()) << r.status();
      const std::vector<uint8_t> bytes = EncodeProof(r->proof);
      if (first.empty()) {
        first = bytes;
      } else {
        EXPECT_EQ(bytes, first);
      }
    });
  }
}

// The golden proof: fibonacci 2^10 (a0 = 0, a1 = 1) at the default parameters. A change
// of this hash is a protocol change: update docs/PROTOCOL.md with it.
TEST(Prover, GoldenFibonacci1024) {
  auto w = air::Fibonacci(10);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs);
  ASSERT_TRUE(result.ok()) << result.status();
  const std::vector<uint8_t> bytes = EncodeProof(result->proof);
  EXPECT_EQ(DigestToHex(Keccak256(bytes)),
            "c2f6edbd84a3efc05c8d08d83afac3960f7a4440c663ab5d1712153fb4148bb0")
      << "proof of " << bytes.size() << " bytes";
}

ProveOptions WithCheck(ProveOptions o, TraceCheck mode) {
  o.trace_check = mode;
  return o;
}

// The checker's report, whether it runs first or only once the proof's identities fail;
// without it, still no proof.
TEST(Prover, RefusesABrokenConstraintNamingTableRowAndConstraint) {
  auto w = air::Fibonacci(6);
  ASSERT_TRUE(w.ok());
  w->trace.tables[0].at(1, 17) += Fp::One();
  auto backend = backend::MakeCpuBackend();
  std::string up_front;
  for (TraceCheck mode : {TraceCheck::kUpFront, TraceCheck::kOnFailure}) {
    auto result =
        Prove(*backend, w->air, w->trace, w->public_inputs, WithCheck(ProveOptions{}, mode));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
    const std::string message(result.status().message());
    EXPECT_THAT(message, HasSubstr("tables[0] (fib) row 16"));
    EXPECT_THAT(message, HasSubstr("b_next"));
    if (mode == TraceCheck::kUpFront) {
      up_front = message;
    } else {
      EXPECT_EQ(message, up_front);
    }
  }
  // Degree 2: one quotient part, so no coefficient to check in the backend; the OOD
  // identity is what catches it.
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs,
                      WithCheck(ProveOptions{}, TraceCheck::kOff));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("quotient: tables[0]: the constraints at the out-of-domain point"));
}

// A broken trace proved in every TraceCheck mode: none gives a proof; kUpFront fails
// with the checker's report and kOnFailure with exactly the same status.
struct Refusals {
  absl::Status up_front, off;
};
Refusals ProveInEveryMode(const air::WorkloadInstance& w, const ProveOptions& options) {
  auto backend = backend::MakeCpuBackend();
  auto prove = [&](TraceCheck mode) {
    return Prove(*backend, w.air, w.trace, w.public_inputs, WithCheck(options, mode)).status();
  };
  Refusals r{prove(TraceCheck::kUpFront), prove(TraceCheck::kOff)};
  EXPECT_EQ(r.up_front.code(), absl::StatusCode::kFailedPrecondition) << r.up_front;
  EXPECT_EQ(prove(TraceCheck::kOnFailure), r.up_front);
  EXPECT_FALSE(r.off.ok());
  EXPECT_EQ(FailureKindOf(r.up_front), FailureKind::kConstraintsUnsatisfied);
  EXPECT_EQ(FailureKindOf(r.off), FailureKind::kConstraintsUnsatisfied) << r.off;
  return r;
}

// A CPU job whose round 3 fails as a device would (an illegal address).
class FaultyJob final : public testing::ForwardingJob {
 public:
  using ForwardingJob::ForwardingJob;
  absl::StatusOr<Digest> CommitQuotient(const Fp3&) override {
    return WithFailureKind(absl::InternalError("cuda: an illegal memory access"),
                           FailureKind::kDeviceFault);
  }
};

// Only a failure that says the trace breaks a constraint runs the checker: a device fault
// is reported as what it is, kind and all, even on a broken trace (whose own failure
// another engine's rerun then finds).
TEST(Prover, ADeviceFaultIsReportedAsItIsWithoutTheChecker) {
  auto w = air::Fibonacci(6);
  ASSERT_TRUE(w.ok());
  testing::WrappedCpuBackend faulty("faulty", [](std::unique_ptr<backend::ProvingJob> job) {
    return std::unique_ptr<backend::ProvingJob>(new FaultyJob(std::move(job)));
  });
  for (bool broken : {false, true}) {
    if (broken) w->trace.tables[0].at(1, 17) += Fp::One();
    auto result = Prove(faulty, w->air, w->trace, w->public_inputs,
                        WithCheck(Fast(ProofParams{1, 4, 0, 1, 0}), TraceCheck::kOnFailure));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(FailureKindOf(result.status()), FailureKind::kDeviceFault) << result.status();
    EXPECT_EQ(result.status().message(), "cuda: an illegal memory access");
  }
}

TEST(Prover, RefusesABrokenMultiTableTraceInEveryMode) {
  air::WorkloadInstance w = testing::RandomAir(Shape(12, 4, 1, 3));
  w.trace.tables[2].at(0, 5) += Fp::One();  // column 0 is a counter with a transition
  const Refusals r = ProveInEveryMode(w, Fast(ProofParams{2, 4, 0, 2, 1}));
  EXPECT_THAT(std::string(r.up_front.message()), HasSubstr("tables[2]"));
  EXPECT_THAT(std::string(r.off.message()), Not(HasSubstr("row")));
}

TEST(Prover, RefusesAnUnbalancedBus) {
  testing::RandomAirOptions o;
  o.seed = 5;
  o.num_tables = 3;
  o.num_lookup_tables = 1;
  air::WorkloadInstance w = testing::RandomAir(o);
  // The lookup table's multiplicity column is its last column.
  air::TableTrace& lookup = w.trace.tables[0];
  lookup.at(lookup.num_columns() - 1, 0) += Fp::One();
  const Refusals r = ProveInEveryMode(w, Fast(ProofParams{2, 4, 0, 2, 1}));
  EXPECT_THAT(std::string(r.up_front.message()), HasSubstr("bus"));
  EXPECT_EQ(r.off.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.off.message()), HasSubstr("logup: the tables' sums"));
}

// A valid trace proves without the checker stage, and the proof is the same.
TEST(Prover, TheCheckModeChangesNothingInAValidProof) {
  auto w = air::Fibonacci(8);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  const ProveOptions fast = Fast(ProofParams{1, 4, 0, 1, 0});
  auto a =
      Prove(*backend, w->air, w->trace, w->public_inputs, WithCheck(fast, TraceCheck::kUpFront));
  auto b =
      Prove(*backend, w->air, w->trace, w->public_inputs, WithCheck(fast, TraceCheck::kOnFailure));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(EncodeProof(a->proof), EncodeProof(b->proof));
  EXPECT_EQ(a->timings.front().stage, Stage::kCheck);
  for (const StageTiming& t : b->timings) EXPECT_NE(t.stage, Stage::kCheck);
}

TEST(Prover, RefusesParametersBelowTheFloor) {
  auto w = air::Fibonacci(4);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  ProveOptions o;
  o.params.num_queries = 10;
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs, o);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("below the minimum 100"));
  o.params.log_fri_arity = 5;
  EXPECT_THAT(
      std::string(Prove(*backend, w->air, w->trace, w->public_inputs, o).status().message()),
      HasSubstr("params.log_fri_arity"));
}

TEST(Prover, CancelsBetweenStages) {
  auto w = air::Fibonacci(8);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  ProveOptions o = Fast(ProofParams{1, 4, 0, 1, 0});
  o.on_stage = [](Stage s) { return s != Stage::kQuotient; };
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs, o);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
}

// The backend call-order contract is tested for every engine in
// engine/testing/backend_contract.h; the stop token here for the CPU engine too.
TEST(Prover, AStopEndsTheProofWithinASecondOnTheCpuEngine) {
  auto backend = backend::MakeCpuBackend();
  prover::testing::ExpectStopsEveryStage(*backend, /*log_rows=*/20);
}

TEST(Params, SecurityBitsAndSchedule) {
  ProofParams p;  // defaults
  const int heights[] = {20};
  EXPECT_EQ(SecurityBits(p, heights, 2), 28u * 3 + 16);
  const int huge[] = {26};
  p.num_queries = 256;
  EXPECT_EQ(SecurityBits(p, huge, 8), 191u - 29 - 3);
  // Tables of LDE sizes 2^23, 2^13, 2^9 with arity 16 and final size 2^(5+3).
  ProofParams q;
  q.log_fri_arity = 4;
  const int lde[] = {23, 13, 9};
  const FriSchedule s = MakeFriSchedule(q, lde);
  EXPECT_EQ(s.log_size, (std::vector<int>{23, 19, 15, 13, 9, 8}));
  EXPECT_EQ(s.log_arity, (std::vector<int>{4, 4, 2, 4, 1}));
}

}  // namespace
}  // namespace prover::stark
