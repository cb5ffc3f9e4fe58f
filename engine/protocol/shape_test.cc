#include "engine/protocol/shape.h"

#include <gtest/gtest.h>

#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/protocol/proof.h"
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
      // Both forms of layer 0, by turns (auto picks per statement).
      p.first_layer = queries == 8 ? FirstLayer::kCommitted : FirstLayer::kAuto;
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

// The default first layer (docs/PROTOCOL.md section 2) gives the smaller proof: proved
// both ways, the auto proof is the smaller one (virtual for fibonacci and for the zkvm at
// scale 12, whose tallest tables are narrow); at scale 16 the tallest tables are wide and
// auto commits layer 0. Where no layer folds it is never virtual.
TEST(ResolveParams, ChoosesTheSmallerFirstLayer) {
  auto heights = [](const air::WorkloadInstance& w) {
    std::vector<int> h;
    for (const auto& t : w.trace.tables) h.push_back(t.log_rows());
    return h;
  };
  auto backend = backend::MakeCpuBackend();
  auto size_with = [&](const air::WorkloadInstance& w, FirstLayer first) -> size_t {
    ProveOptions o;
    o.params.first_layer = first;
    auto r = Prove(*backend, w.air, w.trace, w.public_inputs, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? EncodeProof(r->proof).size() : 0;
  };
  auto fib = air::Fibonacci(10);
  auto zkvm = air::Zkvm(12, 3);
  ASSERT_TRUE(fib.ok() && zkvm.ok());
  for (const air::WorkloadInstance* w : {&*fib, &*zkvm}) {
    const size_t committed = size_with(*w, FirstLayer::kCommitted);
    const size_t virt = size_with(*w, FirstLayer::kVirtual);
    EXPECT_EQ(size_with(*w, FirstLayer::kAuto), std::min(committed, virt)) << w->air.name;
    EXPECT_LT(virt, committed) << w->air.name;
  }
  const ProofParams defaults;
  ASSERT_EQ(defaults.first_layer, FirstLayer::kAuto);
  auto wide = air::Zkvm(16, 3);
  ASSERT_TRUE(wide.ok());
  auto z = ResolveParams(defaults, wide->air, heights(*wide));
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(z->first_layer, FirstLayer::kCommitted);
  // Everything but the first layer is kept; an explicit choice is kept too.
  auto f = ResolveParams(defaults, fib->air, heights(*fib));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->first_layer, FirstLayer::kVirtual);
  ProofParams committed = defaults;
  committed.first_layer = FirstLayer::kCommitted;
  EXPECT_EQ(*ResolveParams(committed, fib->air, heights(*fib)), committed);
  ProofParams other = *f;
  other.first_layer = FirstLayer::kCommitted;
  EXPECT_EQ(other, committed);
  // Heights at which the first layer is already of the final size: nothing folds.
  auto tiny = air::Fibonacci(2);
  ASSERT_TRUE(tiny.ok());
  auto t = ResolveParams(defaults, tiny->air, heights(*tiny));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->first_layer, FirstLayer::kCommitted);
  ProofParams virt = defaults;
  virt.first_layer = FirstLayer::kVirtual;
  const auto refused = ResolveParams(virt, tiny->air, heights(*tiny));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("params.first_layer"), std::string::npos);
}

}  // namespace
}  // namespace prover::stark
