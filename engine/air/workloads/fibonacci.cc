#include "engine/air/workloads/fibonacci.h"

#include "absl/strings/str_cat.h"

namespace prover::air {

Air FibonacciAir() {
  Air air;
  air.name = "fibonacci";
  air.max_constraint_degree = 2;
  air.public_inputs = {"a0", "a1", "result"};
  Table t;
  t.name = "fib";
  t.num_columns = 2;
  t.column_names = {"a", "b"};
  const uint32_t a = t.Add(Expr::Column(0)), b = t.Add(Expr::Column(1));
  const uint32_t a_next = t.Add(Expr::Column(0, 1)), b_next = t.Add(Expr::Column(1, 1));
  const uint32_t p0 = t.Add(Expr::PublicInput(0)), p1 = t.Add(Expr::PublicInput(1));
  const uint32_t p2 = t.Add(Expr::PublicInput(2));
  auto sub = [&](uint32_t x, uint32_t y) { return t.Add(Expr::Binary(ExprOp::kSub, x, y)); };
  t.constraints.push_back({ConstraintKind::kFirstRow, sub(a, p0), "a0"});
  t.constraints.push_back({ConstraintKind::kFirstRow, sub(b, p1), "a1"});
  t.constraints.push_back({ConstraintKind::kTransition, sub(a_next, b), "a_next"});
  const uint32_t sum = t.Add(Expr::Binary(ExprOp::kAdd, a, b));
  t.constraints.push_back({ConstraintKind::kTransition, sub(b_next, sum), "b_next"});
  t.constraints.push_back({ConstraintKind::kLastRow, sub(b, p2), "result"});
  air.tables.push_back(std::move(t));
  return air;
}

absl::StatusOr<std::vector<Fp>> FibonacciPublicInputs(int log_rows, Fp a0, Fp a1) {
  if (log_rows < 1 || log_rows > 26) {
    return absl::InvalidArgumentError(
        absl::StrCat("fibonacci: log_rows ", log_rows, " outside [1, 26]"));
  }
  Fp a = a0, b = a1;
  for (uint64_t r = 1; r < (uint64_t{1} << log_rows); ++r) {
    const Fp next_b = a + b;
    a = b;
    b = next_b;
  }
  return std::vector<Fp>{a0, a1, b};
}

absl::StatusOr<WorkloadInstance> Fibonacci(int log_rows, Fp a0, Fp a1) {
  if (log_rows < 1 || log_rows > 26) {
    return absl::InvalidArgumentError(
        absl::StrCat("fibonacci: log_rows ", log_rows, " outside [1, 26]"));
  }
  WorkloadInstance w;
  w.air = FibonacciAir();
  TableTrace tt(2, log_rows);
  Fp* a = tt.column(0);
  Fp* b = tt.column(1);
  a[0] = a0;
  b[0] = a1;
  for (size_t r = 1; r < tt.rows(); ++r) {
    a[r] = b[r - 1];
    b[r] = a[r - 1] + b[r - 1];
  }
  w.public_inputs = {a0, a1, b[tt.rows() - 1]};
  w.trace.tables.push_back(std::move(tt));
  return w;
}

}  // namespace prover::air
