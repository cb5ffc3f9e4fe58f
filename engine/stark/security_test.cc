// The two security figures (docs/PROTOCOL.md section 2): the proven one against values
// computed independently from the document's formula (a separate Python implementation,
// 2026-11-30), the presets, and the floors in the prover and the verifier.
#include "engine/protocol/security.h"

#include "engine/air/workloads/builtin.h"
#include "engine/air/workloads/fibonacci.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prover::stark {
namespace {

using ::testing::HasSubstr;

struct Statement {
  air::Air air;
  std::vector<int> log_rows;
};

Statement Builtin(const char* name, int size) {
  const air::BuiltinWorkload* w = air::FindWorkload(name);
  auto rows = w->log_rows(size);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return {w->air(), rows.ok() ? *rows : std::vector<int>{}};
}

ProofParams Params(uint32_t b, uint32_t q, uint32_t g, uint32_t a, uint32_t f) {
  return ProofParams{b, q, g, a, f};
}

// Expected: the bits, the m that gives them, and -log2 of the total error to 0.01, from the
// independent computation (none within 0.1 of an integer but the first, 57.98).
TEST(ProvenSecurity, MatchesFiguresComputedByHand) {
  struct Case {
    const char* workload;
    int size;
    ProofParams params;
    uint32_t bits;
    int m;
    double minus_log2_error;
    double commit, query;
  };
  const Case cases[] = {
      {"fibonacci", 20, ProofParams(), 57, 1334, 57.98, -67.37, -57.98},
      {"zkvm", 16, Params(4, 41, 20, 3, 5), 100, 29, 100.60, -103.91, -100.76},
      {"fibonacci", 22, Params(4, 256, 20, 3, 5), 119, 3, 119.89, -119.89, -475.07},
      {"zkvm", 18, Params(2, 143, 20, 3, 5), 128, 3, 128.11, -128.44, -130.40},
      {"fibonacci", 10, Params(4, 56, 20, 3, 5), 128, 13, 128.41, -130.26, -128.87},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.workload << " " << c.size);
    const Statement s = Builtin(c.workload, c.size);
    const ProvenSecurity r = ProvenSecurityOf(c.params, s.air, s.log_rows);
    EXPECT_EQ(r.bits, c.bits);
    EXPECT_EQ(r.m, c.m);
    EXPECT_NEAR(-r.log2_total, c.minus_log2_error, 0.01);
    EXPECT_NEAR(r.log2_commit, c.commit, 0.01);
    EXPECT_NEAR(r.log2_query, c.query, 0.01);
  }
}

// Each preset reaches its target with the fewest queries, and sets its floor.
TEST(ProvenSecurity, PresetsTakeTheFewestQueriesThatReachTheTarget) {
  for (const Statement& s : {Builtin("fibonacci", 16), Builtin("zkvm", 16)}) {
    for (SecurityPreset preset : {SecurityPreset::kConjectured100, SecurityPreset::kConjectured128,
                                  SecurityPreset::kProven100, SecurityPreset::kProven128}) {
      SCOPED_TRACE(std::string(SecurityPresetName(preset)));
      auto chosen = ChoosePresetParams(preset, s.air, s.log_rows);
      ASSERT_TRUE(chosen.ok()) << chosen.status();
      const bool proven =
          preset == SecurityPreset::kProven100 || preset == SecurityPreset::kProven128;
      const uint32_t target =
          preset == SecurityPreset::kConjectured100 || preset == SecurityPreset::kProven100 ? 100
                                                                                            : 128;
      auto figure = [&](const ProofParams& p) {
        return proven ? ProvenSecurityOf(p, s.air, s.log_rows).bits
                      : SecurityBits(p, s.log_rows, s.air.max_constraint_degree);
      };
      EXPECT_GE(figure(chosen->params), target);
      ProofParams fewer = chosen->params;
      fewer.num_queries -= 1;
      EXPECT_LT(figure(fewer), target);
      EXPECT_EQ(proven ? chosen->floors.proven : chosen->floors.conjectured, target);
      EXPECT_TRUE(CheckSecurity(chosen->params, s.air, s.log_rows, chosen->floors).ok());
    }
  }
  // The default parameters are the conjectured-100 preset's.
  const Statement fib = Builtin("fibonacci", 20);
  EXPECT_EQ(ChoosePresetParams(SecurityPreset::kConjectured100, fib.air, fib.log_rows)->params,
            ProofParams());
}

TEST(ProvenSecurity, AnOutOfReachPresetSaysHowFarItGets) {
  const Statement s = Builtin("fibonacci", 22);
  auto chosen = ChoosePresetParams(SecurityPreset::kProven128, s.air, s.log_rows);
  ASSERT_FALSE(chosen.ok());
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(chosen.status().message()),
              HasSubstr("proven-128 is out of reach for these heights: at most 126 proven bits"));
  // Where the preset's own blowup cannot reach 128, a smaller one is taken.
  const Statement big = Builtin("fibonacci", 20);
  auto smaller = ChoosePresetParams(SecurityPreset::kProven128, big.air, big.log_rows);
  ASSERT_TRUE(smaller.ok()) << smaller.status();
  EXPECT_LT(smaller->params.log_blowup, 4u);
  EXPECT_EQ(ProvenSecurityOf(smaller->params, big.air, big.log_rows).bits, 128u);
  EXPECT_FALSE(ParseSecurityPreset("proven-256").ok());
}

// The floors in both regimes, in the prover and the verifier; a proof carries both
// figures and the verifier recomputes them.
TEST(ProvenSecurity, FloorsHoldInTheProverAndTheVerifier) {
  auto w = air::Fibonacci(8);
  ASSERT_TRUE(w.ok());
  const std::vector<int> rows = {8};
  const uint32_t proven = ProvenSecurityOf(ProofParams(), w->air, rows).bits;
  auto cpu = backend::MakeCpuBackend();
  ProveOptions too_high;
  too_high.min_proven_security_bits = proven + 1;
  auto refused = Prove(*cpu, w->air, w->trace, w->public_inputs, too_high);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr(absl::StrCat("proven security ", proven, " bits is below the minimum ",
                                     proven + 1)));

  auto proof = Prove(*cpu, w->air, w->trace, w->public_inputs);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->proof.proven_security_bits, proven);
  VerifyOptions floor;
  floor.min_proven_security_bits = proven;
  EXPECT_TRUE(Verify(w->air, w->public_inputs, proof->proof, floor).ok());
  floor.min_proven_security_bits = proven + 1;
  const absl::Status rejected = Verify(w->air, w->public_inputs, proof->proof, floor);
  EXPECT_THAT(std::string(rejected.message()),
              HasSubstr(absl::StrCat("proven security ", proven, " bits is below the minimum")));

  auto preset = ChoosePresetParams(SecurityPreset::kProven100, w->air, rows);
  ASSERT_TRUE(preset.ok()) << preset.status();
  ProveOptions strong;
  strong.params = preset->params;
  strong.min_proven_security_bits = 100;
  auto strong_proof = Prove(*cpu, w->air, w->trace, w->public_inputs, strong);
  ASSERT_TRUE(strong_proof.ok()) << strong_proof.status();
  EXPECT_GE(strong_proof->proof.proven_security_bits, 100u);
  floor.min_proven_security_bits = 100;
  EXPECT_TRUE(Verify(w->air, w->public_inputs, strong_proof->proof, floor).ok());
}

}  // namespace
}  // namespace prover::stark
