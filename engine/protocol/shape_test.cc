#include "engine/protocol/shape.h"

#include <gtest/gtest.h>

#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/stark/prover.h"
#include "engine/testing/random_air.h"

namespace prover::stark {
namespace {

using air::ConstraintKind;
using air::Expr;
using air::ExprOp;

// x^d over column 0.
uint32_t Power(air::Table& t, uint32_t d) {
  uint32_t x = t.Add(Expr::Column(0)), p = x;
  for (uint32_t i = 1; i < d; ++i) p = t.Add(Expr::Binary(ExprOp::kMul, p, x));
  return p;
}

air::Table TableWith(ConstraintKind kind, uint32_t degree) {
  air::Table t;
  t.num_columns = 2;
  t.constraints.push_back({kind, Power(t, degree), "c"});
  return t;
}

TEST(TableShape, TheQuotientHasTheTablesOwnDegree) {
  // In an AIR of degree 4, a table whose constraints reach degree d has max(1, d - 1) parts.
  for (uint32_t d = 1; d <= 4; ++d) {
    const TableShape s = ShapeOf(TableWith(ConstraintKind::kEveryRow, d), 4);
    EXPECT_EQ(s.degree, d);
    EXPECT_EQ(s.quotient_parts, d > 2 ? d - 1 : 1u) << d;
    EXPECT_EQ(s.aux_columns, 0u);
  }
  // A boundary constraint's zerofier has degree 1: it counts one more.
  EXPECT_EQ(ShapeOf(TableWith(ConstraintKind::kFirstRow, 2), 4).quotient_parts, 2u);
  EXPECT_EQ(ShapeOf(TableWith(ConstraintKind::kLastRow, 3), 4).quotient_parts, 3u);
  EXPECT_EQ(ShapeOf(TableWith(ConstraintKind::kTransition, 3), 4).quotient_parts, 2u);
}

TEST(TableShape, LogUpGroupsSetTheAuxColumnsAndTheirDegree) {
  air::Table t = TableWith(ConstraintKind::kEveryRow, 1);
  const uint32_t x = t.Add(Expr::Column(0)), y = t.Add(Expr::Column(1));
  const uint32_t xy = t.Add(Expr::Binary(ExprOp::kMul, x, y));
  // One interaction of degree-1 values: one group, its terms in the running sum's
  // constraint (s' - s + c) phi - m of degree 2.
  t.interactions.push_back({1, {x}, y});
  TableShape s = ShapeOf(t, 3);
  EXPECT_EQ(s.aux_columns, 1u);
  EXPECT_EQ(s.logup_constraints, 1u);
  EXPECT_EQ(s.degree, 2u);
  EXPECT_EQ(s.quotient_parts, 1u);
  // A second one pairs with it at degree 3: still one column, now degree 3.
  t.interactions.push_back({2, {y}, x});
  s = ShapeOf(t, 3);
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].interactions.size(), 2u);
  EXPECT_EQ(s.aux_columns, 1u);
  EXPECT_EQ(s.degree, 3u);
  EXPECT_EQ(s.quotient_parts, 2u);
  // A third, of a degree-2 value, cannot pair in degree 3: a helper column for the pair and
  // the running sum's constraint for it, 1 + 2.
  t.interactions.push_back({3, {xy}, x});
  s = ShapeOf(t, 3);
  EXPECT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.aux_columns, 2u);
  EXPECT_EQ(s.logup_constraints, 2u);
  EXPECT_EQ(s.degree, 3u);
}

// The bound is what the service refuses statements by: it must hold for every proof, and
// be near enough that it refuses nothing reasonable.
void ExpectBoundHolds(const air::WorkloadInstance& w, const ProofParams& params) {
  auto backend = backend::MakeCpuBackend();
  ProveOptions options;
  options.params = params;
  options.min_security_bits = 0;
  auto result = Prove(*backend, w.air, w.trace, w.public_inputs, options);
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<int> log_rows;
  for (const auto& t : w.trace.tables) log_rows.push_back(t.log_rows());
  const uint64_t actual = EncodeProof(result->proof).size();
  const uint64_t bound = ProofBytesBound(w.air, log_rows, params);
  EXPECT_LE(actual, bound);
  EXPECT_LE(bound, 4 * actual + 4096) << "actual " << actual;
}

TEST(ProofBytesBound, HoldsForEveryShapeAndParameterSet) {
  for (uint32_t log_arity : {1u, 3u}) {
    for (uint32_t queries : {8u, 40u}) {
      ProofParams p;
      p.log_fri_arity = log_arity;
      p.num_queries = queries;
      p.grinding_bits = 0;
      SCOPED_TRACE(::testing::Message()
                   << "arity 2^" << log_arity << ", " << queries << " queries");
      ExpectBoundHolds(*air::Fibonacci(10), p);
      ExpectBoundHolds(*air::Zkvm(10, 3), p);
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        prover::testing::RandomAirOptions o;
        o.seed = seed;
        ExpectBoundHolds(prover::testing::RandomAir(o), p);
      }
    }
  }
}

}  // namespace
}  // namespace prover::stark
