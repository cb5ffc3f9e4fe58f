// The engine contract tests, written once and instantiated for every backend: each
// proof must be byte-identical to the CPU engine's (the oracle) and verify; the call order
// is enforced; a broken trace proved without the checker fails inside the backend.
//
// Instantiate with a factory that returns the backend under test, or null when it cannot
// run here (the tests then GTEST_SKIP):
//   INSTANTIATE_TEST_SUITE_P(Cuda, BackendContract, ::testing::Values(BackendUnderTest{
//       "cuda", [] { return MakeSomething(); }, /*max_log_rows=*/16}), ...);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/base/failure.h"
#include "engine/protocol/params.h"
#include "engine/protocol/proof.h"
#include "engine/protocol/shape.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"
#include "engine/testing/random_air.h"
#include "engine/testing/require_gpu.h"
#include "engine/testing/stop_contract.h"
#include "gtest/gtest.h"

namespace prover::testing {

struct BackendUnderTest {
  std::string name;
  std::function<std::unique_ptr<backend::Backend>()> make;
  int max_log_rows = 12;  // largest trace the suite proves (the emulator is slow)
};

inline std::ostream& operator<<(std::ostream& os, const BackendUnderTest& b) {
  return os << b.name;
}

// A job spec of `w`'s AIR and heights (w outlives it).
inline backend::JobSpec SpecOf(const air::WorkloadInstance& w, int log_blowup) {
  backend::JobSpec spec;
  spec.air = &w.air;
  for (const air::TableTrace& t : w.trace.tables) spec.log_rows.push_back(t.log_rows());
  spec.public_inputs = w.public_inputs;
  spec.log_blowup = log_blowup;
  return spec;
}

class BackendContract : public ::testing::TestWithParam<BackendUnderTest> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    if (backend_ == nullptr) {
      PROVER_SKIP_WITHOUT_GPU(GetParam().name << ": not available here (no GPU)");
    }
  }

  // RejectsEveryCallOutOfOrder's walk through one job whose layer 0 is `first`.
  void WalkOneJob(stark::FirstLayer first);

  static stark::ProveOptions Options(stark::ProofParams p) {
    stark::ProveOptions o;
    o.params = p;
    o.min_security_bits = 0;
    return o;
  }

  // Proves with the backend under test and with the CPU engine; the bytes must match and
  // the proof must verify.
  void ExpectSameProof(const air::WorkloadInstance& w, const stark::ProveOptions& options,
                       const std::string& what) {
    auto cpu = backend::MakeCpuBackend();
    auto want = stark::Prove(*cpu, w.air, w.trace, w.public_inputs, options);
    ASSERT_TRUE(want.ok()) << what << ": cpu: " << want.status();
    auto got = stark::Prove(*backend_, w.air, w.trace, w.public_inputs, options);
    ASSERT_TRUE(got.ok()) << what << ": " << GetParam().name << ": " << got.status();
    const std::vector<uint8_t> a = stark::EncodeProof(want->proof);
    const std::vector<uint8_t> b = stark::EncodeProof(got->proof);
    ASSERT_EQ(a.size(), b.size()) << what;
    if (a != b) {
      // Name the first differing part, so a mismatch points at a round.
      const stark::Proof& x = want->proof;
      const stark::Proof& y = got->proof;
      std::string where = "the query openings";
      if (x.main.root != y.main.root) {
        where = "main root";
      } else if (x.aux.root != y.aux.root) {
        where = "aux root";
      } else if (x.quotient.root != y.quotient.root) {
        where = "quotient root";
      } else {
        for (size_t t = 0; t < x.tables.size() && t < y.tables.size(); ++t) {
          const stark::TableProof &p = x.tables[t], &q = y.tables[t];
          if (!(p.logup_sum == q.logup_sum)) {
            where = absl::StrCat("tables[", t, "] LogUp sum");
          } else if (!(p.ood == q.ood)) {
            where = absl::StrCat("tables[", t, "] out-of-domain values");
          } else {
            continue;
          }
          break;
        }
      }
      FAIL() << what << ": proofs differ from the CPU engine's, first in the " << where;
    }
    stark::VerifyOptions v;
    v.min_security_bits = 0;
    EXPECT_TRUE(stark::VerifyEncoded(w.air, w.public_inputs, b, v).ok()) << what;
  }

  std::unique_ptr<backend::Backend> backend_;
};

TEST_P(BackendContract, FibonacciEveryArityAndBlowup) {
  for (int log_rows : {1, 3, 6, 10}) {
    if (log_rows > GetParam().max_log_rows) continue;
    auto w = air::Fibonacci(log_rows, Fp::FromU64(3), Fp::FromU64(5));
    ASSERT_TRUE(w.ok());
    for (uint32_t b : {1u, 2u, 4u}) {
      for (uint32_t a : {1u, 2u, 3u, 4u}) {
        ExpectSameProof(*w, Options(stark::ProofParams{b, 6, 1, a, a % 3}),
                        absl::StrCat("fibonacci 2^", log_rows, " blowup 2^", b, " arity 2^", a));
      }
    }
  }
}

TEST_P(BackendContract, FibonacciDefaultParametersAtTheLargestSize) {
  const int log_rows = std::min(GetParam().max_log_rows, 20);
  auto w = air::Fibonacci(log_rows);
  ASSERT_TRUE(w.ok());
  stark::ProveOptions o;
  ExpectSameProof(*w, o, absl::StrCat("fibonacci 2^", log_rows, " default parameters"));
}

TEST_P(BackendContract, RandomMultiTableAirs) {
  for (uint64_t seed = 0; seed < 24; ++seed) {
    RandomAirOptions o;
    o.seed = 1000 + seed;
    o.num_tables = 1 + int(seed % 15);
    o.max_degree = 2 + uint32_t(seed % 4);
    o.num_lookup_tables = o.num_tables == 1 ? 0 : 1 + int(seed % 3) % (o.num_tables - 1);
    o.min_log_rows = 1;
    o.max_log_rows = std::min(GetParam().max_log_rows, 8);
    const air::WorkloadInstance w = RandomAir(o);
    const uint32_t min_b = o.max_degree <= 3 ? 1 : 2;
    stark::ProofParams p{min_b + uint32_t(seed % (5 - min_b)), 5, 2, 1 + uint32_t(seed % 4),
                         uint32_t(seed % 4)};
    // Both forms of layer 0 (docs/PROTOCOL.md section 8), where some layer folds.
    p.first_layer = seed % 2 == 0 ? stark::FirstLayer::kCommitted : stark::FirstLayer::kVirtual;
    std::vector<int> heights;
    for (const auto& t : w.trace.tables) heights.push_back(t.log_rows());
    if (!stark::ResolveParams(p, w.air, heights).ok()) p.first_layer = stark::FirstLayer::kAuto;
    ExpectSameProof(
        w, Options(p),
        absl::StrCat("random AIR seed ", o.seed, ", layer 0 ",
                     p.first_layer == stark::FirstLayer::kVirtual ? "virtual" : "not virtual"));
  }
}

TEST_P(BackendContract, MixedHeights) {
  RandomAirOptions o;
  o.seed = 4321;
  o.num_tables = 6;
  o.num_lookup_tables = 2;
  o.min_log_rows = 1;
  o.max_log_rows = std::min(GetParam().max_log_rows, 16);
  const air::WorkloadInstance w = RandomAir(o);
  ExpectSameProof(w, Options(stark::ProofParams{1, 8, 4, 2, 1}), "mixed heights");
}

TEST_P(BackendContract, Zkvm) {
  for (int scale : {10, 12, 14, 16, 18}) {
    if (scale > GetParam().max_log_rows) continue;
    auto w = air::Zkvm(scale, 1);
    ASSERT_TRUE(w.ok()) << w.status();
    ExpectSameProof(*w, stark::ProveOptions(), absl::StrCat("zkvm scale ", scale));
  }
}

TEST_P(BackendContract, AStopEndsTheProofWithinASecond) {
  ExpectStopsEveryStage(*backend_, GetParam().max_log_rows);
}

TEST_P(BackendContract, RejectsCallsOutOfOrder) {
  auto w = air::Fibonacci(4);
  ASSERT_TRUE(w.ok());
  const backend::JobSpec spec = SpecOf(*w, /*log_blowup=*/1);
  auto job = backend_->StartJob(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ((*job)->CommitQuotient(Fp3::One()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*job)->CommitMain(w->trace).ok());
  EXPECT_EQ((*job)->CommitMain(w->trace).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*job)->FinalLayer().status().code(), absl::StatusCode::kFailedPrecondition);
}

// A whole job walked call by call: at every step each call the job does not expect now (a
// later round, an earlier one again, a FRI layer out of turn or past the last, the final
// layer or the openings twice) is refused with FAILED_PRECONDITION and changes nothing, and
// the expected call then succeeds. After the openings every call is refused.
// With a virtual layer 0 (docs/PROTOCOL.md section 8), layer 0 is folded but never
// committed: CommitFriLayer(0) is refused throughout.
TEST_P(BackendContract, RejectsEveryCallOutOfOrder) {
  for (const stark::FirstLayer first :
       {stark::FirstLayer::kCommitted, stark::FirstLayer::kVirtual}) {
    SCOPED_TRACE(first == stark::FirstLayer::kVirtual ? "virtual layer 0" : "committed layer 0");
    WalkOneJob(first);
  }
}

void BackendContract::WalkOneJob(stark::FirstLayer first) {
  auto w = air::Fibonacci(6);
  ASSERT_TRUE(w.ok());
  const backend::JobSpec spec = SpecOf(*w, /*log_blowup=*/1);
  stark::ProofParams params{1, 4, 0, 1, 2};
  params.first_layer = first;
  const stark::FriSchedule schedule = stark::MakeFriSchedule(params, std::vector<int>{7});
  ASSERT_GE(schedule.num_folds(), 2);
  auto started = backend_->StartJob(spec);
  ASSERT_TRUE(started.ok()) << started.status();
  backend::ProvingJob& job = **started;
  const Fp3 x(Fp::FromU64(5), Fp::FromU64(7), Fp::FromU64(11));  // outside F_p
  std::vector<backend::TableOod> ood;
  const std::vector<uint64_t> positions = {0, 3, 77, 127};
  std::vector<std::pair<std::string, std::function<absl::Status()>>> calls = {
      {"CommitMain", [&] { return job.CommitMain(w->trace).status(); }},
      {"CommitAux", [&] { return job.CommitAux(x, x * x).status(); }},
      {"CommitQuotient", [&] { return job.CommitQuotient(x).status(); }},
      {"EvaluateOod",
       [&] {
         auto r = job.EvaluateOod(x * x * x);
         if (r.ok()) ood = *r;
         return r.status();
       }},
      {"BuildDeep", [&] { return job.BuildDeep(x, x * x, ood, schedule); }},
  };
  for (int i = 0; i < schedule.num_folds(); ++i) {
    if (schedule.committed(i)) {
      calls.push_back({absl::StrCat("CommitFriLayer(", i, ")"),
                       [&, i] { return job.CommitFriLayer(i).status(); }});
    }
    calls.push_back(
        {absl::StrCat("FoldFriLayer(", i, ")"), [&, i] { return job.FoldFriLayer(i, x); }});
  }
  calls.push_back({"FinalLayer", [&] { return job.FinalLayer().status(); }});
  calls.push_back({"OpenQueries", [&] { return job.OpenQueries(positions).status(); }});
  // Never expected: layers that do not exist.
  std::vector<std::pair<std::string, std::function<absl::Status()>>> never = {
      {"CommitFriLayer(-1)", [&] { return job.CommitFriLayer(-1).status(); }},
      {"FoldFriLayer(-1)", [&] { return job.FoldFriLayer(-1, x); }},
      {"CommitFriLayer(num_folds)",
       [&] { return job.CommitFriLayer(schedule.num_folds()).status(); }},
      {"FoldFriLayer(num_folds)", [&] { return job.FoldFriLayer(schedule.num_folds(), x); }},
  };
  if (schedule.virtual_first) {
    never.push_back(
        {"CommitFriLayer(0) of a virtual layer", [&] { return job.CommitFriLayer(0).status(); }});
  }
  auto expect_refused = [&](const std::string& call, const absl::Status& s,
                            const std::string& when) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << call << " " << when << ": " << s;
    EXPECT_EQ(FailureKindOf(s), FailureKind::kBug) << call << " " << when;
  };
  for (size_t step = 0; step <= calls.size(); ++step) {
    const std::string when =
        step < calls.size() ? "before " + calls[step].first : "after the openings";
    for (size_t other = 0; other < calls.size(); ++other) {
      if (other != step) expect_refused(calls[other].first, calls[other].second(), when);
    }
    for (const auto& [name, call] : never) expect_refused(name, call(), when);
    if (step < calls.size()) {
      const absl::Status s = calls[step].second();
      ASSERT_TRUE(s.ok()) << calls[step].first << ": " << s;
    }
  }
}

// A call that fails leaves the job unusable: later calls are refused, not run on a job in
// an unknown state.
TEST_P(BackendContract, AFailedCallLeavesTheJobUnusable) {
  auto w = air::Fibonacci(4);
  auto other = air::Fibonacci(5);
  ASSERT_TRUE(w.ok() && other.ok());
  const backend::JobSpec spec = SpecOf(*w, /*log_blowup=*/1);
  auto job = backend_->StartJob(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  const absl::Status wrong = (*job)->CommitMain(other->trace).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument) << "a trace of another height";
  EXPECT_EQ(FailureKindOf(wrong), FailureKind::kInvalidInput);
  EXPECT_EQ((*job)->CommitMain(w->trace).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*job)->CommitAux(Fp3::One(), Fp3::One()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Without the row-by-row checker, a broken trace is caught by the quotient's degree check
// inside the backend: INTERNAL, never a proof. (The check has coefficients to look at only
// when the number of quotient parts is not a power of two: degree 4, three parts.)
TEST_P(BackendContract, BrokenTraceWithoutTheCheckerFailsInTheBackend) {
  RandomAirOptions o;
  o.seed = 99;
  o.num_tables = 2;
  o.num_lookup_tables = 1;
  o.max_degree = 4;
  o.min_log_rows = 4;
  o.max_log_rows = 6;
  air::WorkloadInstance w = RandomAir(o);
  w.trace.tables[1].at(0, 3) += Fp::One();  // column 0 is a counter with a transition
  stark::ProveOptions options = Options(stark::ProofParams{2, 8, 0, 2, 1});
  options.trace_check = stark::TraceCheck::kOff;
  auto result = stark::Prove(*backend_, w.air, w.trace, w.public_inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
}

}  // namespace prover::testing
