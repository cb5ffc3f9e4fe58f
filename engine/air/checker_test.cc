#include "engine/air/checker.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/air/workloads/fibonacci.h"

namespace prover::air {
namespace {

TEST(Fibonacci, PublicInputsWithoutTheTraceAgreeWithTheGenerator) {
  for (int log_rows : {1, 2, 5, 13}) {
    const Fp a0 = Fp::FromU64(3), a1 = Fp::FromU64(uint64_t(log_rows) * 77);
    auto w = Fibonacci(log_rows, a0, a1);
    auto p = FibonacciPublicInputs(log_rows, a0, a1);
    ASSERT_TRUE(w.ok() && p.ok());
    EXPECT_EQ(*p, w->public_inputs) << log_rows;
  }
  EXPECT_FALSE(FibonacciPublicInputs(27).ok());
}

TEST(Checker, AStopRequestEndsTheCheck) {
  auto w = Fibonacci(12);
  ASSERT_TRUE(w.ok());
  std::stop_source stop;
  stop.request_stop();
  auto report = CheckTrace(w->air, w->trace, w->public_inputs, 100, stop.get_token());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kCancelled);
}

TEST(Checker, FibonacciTraceSatisfiesItsAir) {
  for (int log_rows : {1, 2, 5, 12}) {
    auto w = Fibonacci(log_rows);
    ASSERT_TRUE(w.ok());
    auto report = CheckTrace(w->air, w->trace, w->public_inputs);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok()) << report->Describe(w->air);
    EXPECT_TRUE(ReportToStatus(w->air, *report).ok());
  }
  auto w = Fibonacci(4);  // 0 1 1 2 3 5 8 13 ... b[15] = F(16) = 987
  EXPECT_EQ(w->public_inputs[2].value(), 987u);
}

TEST(Checker, ListsEveryFailingRowAndConstraint) {
  auto w = Fibonacci(5);
  ASSERT_TRUE(w.ok());
  // Break b at row 9: b_next fails at row 8 (b[9] != a[8] + b[8]); at row 9 both
  // transitions read b[9] (a_next: a[10] != b[9]; b_next: b[10] != a[9] + b[9]).
  w->trace.tables[0].at(1, 9) += Fp::One();
  auto report = CheckTrace(w->air, w->trace, w->public_inputs);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->failure_count, 3u) << report->Describe(w->air);
  EXPECT_EQ(report->failures[0].row, 8u);
  EXPECT_EQ(report->failures[0].constraint, 3u);
  EXPECT_EQ(report->failures[1].row, 9u);
  EXPECT_EQ(report->failures[1].constraint, 2u);
  EXPECT_EQ(report->failures[2].row, 9u);
  EXPECT_EQ(report->failures[2].constraint, 3u);
  const std::string text = report->Describe(w->air);
  EXPECT_NE(text.find("tables[0] (fib) row 8: constraints[3] (b_next) is not satisfied"),
            std::string::npos)
      << text;
  absl::Status s = ReportToStatus(w->air, *report);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("row 8"), std::string::npos);
}

TEST(Checker, BoundaryConstraintsAndTheCap) {
  auto w = Fibonacci(6);
  w->public_inputs[2] += Fp::One();  // wrong result: the last-row constraint fails
  auto report = CheckTrace(w->air, w->trace, w->public_inputs);
  ASSERT_EQ(report->failure_count, 1u);
  EXPECT_EQ(report->failures[0].row, 63u);
  EXPECT_EQ(report->failures[0].constraint, 4u);
  // Garbage everywhere: every transition fails; only the cap is listed.
  auto g = Fibonacci(6);
  for (size_t r = 0; r < 64; ++r) g->trace.tables[0].at(0, r) = Fp::FromCanonical(r * r + 5);
  auto many = CheckTrace(g->air, g->trace, g->public_inputs, /*max_failures=*/10);
  EXPECT_EQ(many->failures.size(), 10u);
  EXPECT_GT(many->failure_count, 60u);
  EXPECT_NE(many->Describe(g->air).find("more constraint failures"), std::string::npos);
}

TEST(Checker, ShapeErrorsHavePaths) {
  auto w = Fibonacci(3);
  std::vector<Fp> short_inputs = {Fp::Zero()};
  EXPECT_EQ(CheckTrace(w->air, w->trace, short_inputs).status().code(),
            absl::StatusCode::kInvalidArgument);
  Trace wide;
  wide.tables.emplace_back(3, 3);
  auto s = CheckTrace(w->air, wide, w->public_inputs).status();
  EXPECT_NE(s.message().find("trace.tables[0]: 3 columns for a table of 2"), std::string::npos)
      << s;
  Air fixed = w->air;
  fixed.tables[0].fixed_log_rows = 4;
  s = CheckTrace(fixed, w->trace, w->public_inputs).status();
  EXPECT_NE(s.message().find("fixed at 2^4"), std::string::npos) << s;
}

// Two tables on one bus: `send` emits (x, x^2) once per row; `recv` consumes each tuple
// with the multiplicity in its column m.
struct BusJob {
  Air air;
  Trace trace;
};

BusJob MakeBusJob() {
  BusJob j;
  j.air.name = "bus";
  j.air.max_constraint_degree = 3;
  Table send;
  send.name = "send";
  send.num_columns = 2;  // x, y = x^2
  uint32_t x = send.Add(Expr::Column(0)), y = send.Add(Expr::Column(1));
  uint32_t xx = send.Add(Expr::Binary(ExprOp::kMul, x, x));
  send.constraints.push_back(
      {ConstraintKind::kEveryRow, send.Add(Expr::Binary(ExprOp::kSub, y, xx)), "square"});
  uint32_t one = send.Add(Expr::Constant(Fp::One()));
  send.interactions.push_back({7, {x, y}, one});
  Table recv;
  recv.name = "recv";
  recv.num_columns = 3;  // x, y, m
  uint32_t rx = recv.Add(Expr::Column(0)), ry = recv.Add(Expr::Column(1));
  uint32_t m = recv.Add(Expr::Column(2));
  recv.interactions.push_back({7, {rx, ry}, recv.Add(Expr::Neg(m))});
  j.air.tables = {send, recv};
  TableTrace s(2, 3), r(3, 2);
  for (size_t i = 0; i < 8; ++i) {  // x = i mod 4, so each of 4 tuples appears twice
    s.at(0, i) = Fp::FromCanonical(i % 4);
    s.at(1, i) = Fp::FromCanonical((i % 4) * (i % 4));
  }
  for (size_t i = 0; i < 4; ++i) {
    r.at(0, i) = Fp::FromCanonical(i);
    r.at(1, i) = Fp::FromCanonical(i * i);
    r.at(2, i) = Fp::FromCanonical(2);
  }
  j.trace.tables.push_back(std::move(s));
  j.trace.tables.push_back(std::move(r));
  return j;
}

TEST(Checker, BalancedBusPasses) {
  BusJob j = MakeBusJob();
  ASSERT_TRUE(Validate(j.air).ok());
  auto report = CheckTrace(j.air, j.trace, {});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->Describe(j.air);
}

TEST(Checker, UnbalancedBusNamesTheTuple) {
  BusJob j = MakeBusJob();
  j.trace.tables[1].at(2, 3) = Fp::FromCanonical(1);  // tuple (3, 9) consumed once, sent twice
  auto report = CheckTrace(j.air, j.trace, {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->failure_count, 0u);
  ASSERT_EQ(report->imbalance_count, 1u);
  const BusImbalance& b = report->imbalances[0];
  EXPECT_EQ(b.bus, 7u);
  EXPECT_EQ(b.tuple, (std::vector<Fp>{Fp::FromCanonical(3), Fp::FromCanonical(9)}));
  EXPECT_EQ(b.net_multiplicity, Fp::One());
  EXPECT_EQ(b.table, 0u);
  EXPECT_EQ(b.row, 3u);
  EXPECT_NE(
      report->Describe(j.air).find("bus 7 is unbalanced: tuple (3, 9) has net multiplicity 1"),
      std::string::npos)
      << report->Describe(j.air);
  EXPECT_EQ(ReportToStatus(j.air, *report).code(), absl::StatusCode::kFailedPrecondition);
}

// Many rows (several row chunks per table, every shard used) against a naive multiset sum:
// the same unbalanced tuples, in first-occurrence order, with the cap applied.
TEST(Checker, LargeBusMatchesNaiveBalance) {
  Air air;
  for (int t = 0; t < 2; ++t) {
    Table table;
    table.name = t == 0 ? "a" : "b";
    table.num_columns = 3;  // x, y, m
    const uint32_t x = table.Add(Expr::Column(0)), y = table.Add(Expr::Column(1));
    const uint32_t m = table.Add(Expr::Column(2));
    table.interactions.push_back({3, {x, y}, t == 0 ? m : table.Add(Expr::Neg(m))});
    table.interactions.push_back({5, {y}, m});  // a second bus, never balanced by b
    air.tables.push_back(table);
  }
  ASSERT_TRUE(Validate(air).ok());
  Trace trace;
  std::mt19937_64 rng(0xb05);
  const int log_rows = 14;
  const size_t rows = size_t{1} << log_rows;
  for (int t = 0; t < 2; ++t) {
    TableTrace tt(3, log_rows);
    for (size_t r = 0; r < rows; ++r) {
      // b receives exactly what a sends, row for row, except where it is perturbed below.
      const uint64_t v = (r * 2654435761u) % 1000;
      tt.at(0, r) = Fp::FromCanonical(v);
      tt.at(1, r) = Fp::FromCanonical(v % 7);
      tt.at(2, r) = Fp::One();
    }
    trace.tables.push_back(std::move(tt));
  }
  for (int i = 0; i < 40; ++i) trace.tables[1].at(2, rng() % rows) = Fp::FromU64(rng());
  // The naive reference: every (bus, tuple) with its net multiplicity and first occurrence.
  std::map<std::pair<uint32_t, std::vector<uint64_t>>, std::pair<Fp, std::pair<uint32_t, uint64_t>>>
      sums;
  std::vector<std::pair<uint32_t, std::vector<uint64_t>>> order;
  for (uint32_t t = 0; t < 2; ++t) {
    for (size_t r = 0; r < rows; ++r) {
      const TableTrace& tt = trace.tables[t];
      const Fp m = tt.at(2, r);
      const Fp sent[2] = {t == 0 ? m : -m, m};
      const std::vector<uint64_t> tuples[2] = {{tt.at(0, r).value(), tt.at(1, r).value()},
                                               {tt.at(1, r).value()}};
      const uint32_t buses[2] = {3, 5};
      for (int k = 0; k < 2; ++k) {
        if (sent[k].IsZero()) continue;
        auto key = std::make_pair(buses[k], tuples[k]);
        auto [it, inserted] = sums.try_emplace(key, Fp::Zero(), std::make_pair(t, r));
        if (inserted) order.push_back(key);
        it->second.first += sent[k];
      }
    }
  }
  std::vector<BusImbalance> want;
  for (const auto& key : order) {
    const auto& [sum, at] = sums.at(key);
    if (sum.IsZero()) continue;
    BusImbalance b{key.first, {}, sum, at.first, at.second};
    for (uint64_t v : key.second) b.tuple.push_back(Fp::FromCanonical(v));
    want.push_back(b);
  }
  ASSERT_GT(want.size(), 20u);
  for (size_t cap : {size_t{1000}, size_t{10}}) {
    auto report = CheckTrace(air, trace, {}, cap);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->failure_count, 0u);
    ASSERT_EQ(report->imbalance_count, want.size());
    ASSERT_EQ(report->imbalances.size(), std::min(cap, want.size()));
    for (size_t i = 0; i < report->imbalances.size(); ++i) {
      const BusImbalance& g = report->imbalances[i];
      EXPECT_EQ(g.bus, want[i].bus) << i;
      EXPECT_EQ(g.tuple, want[i].tuple) << i;
      EXPECT_EQ(g.net_multiplicity, want[i].net_multiplicity) << i;
      EXPECT_EQ(g.table, want[i].table) << i;
      EXPECT_EQ(g.row, want[i].row) << i;
    }
  }
}

TEST(Checker, ConstraintsWithChallengesAreCheckedInTheExtension) {
  auto w = Fibonacci(3);
  Table& t = w->air.tables[0];
  // alpha * (a_next - b) = 0 holds exactly when a_next = b.
  uint32_t alpha = t.Add(Expr::Challenge(0));
  uint32_t diff = t.Add(Expr::Binary(ExprOp::kSub, 2, 1));
  t.constraints.push_back(
      {ConstraintKind::kTransition, t.Add(Expr::Binary(ExprOp::kMul, alpha, diff)), "scaled"});
  ASSERT_TRUE(Validate(w->air).ok());
  EXPECT_TRUE(CheckTrace(w->air, w->trace, w->public_inputs)->ok());
  w->trace.tables[0].at(0, 4) += Fp::One();
  auto report = CheckTrace(w->air, w->trace, w->public_inputs);
  bool scaled_failed = false;
  for (const auto& f : report->failures) scaled_failed |= f.constraint == 5 && f.row == 3;
  EXPECT_TRUE(scaled_failed) << report->Describe(w->air);
}

}  // namespace
}  // namespace prover::air
