// A statement whose cost is its expression DAG: one table of two columns whose single
// constraint is a chain of `nodes` extension-valued nodes (a challenge added to a column
// over and over) minus itself, so any trace satisfies it. The shape of the issue's
// "expression arena" attack, used by prover-memory-probe and service-attack.
#pragma once

#include <cstdint>

#include "engine/air/workload.h"

namespace prover::testing {

inline air::WorkloadInstance ChainAir(int log_rows, uint32_t nodes) {
  air::WorkloadInstance w;
  w.air.name = "chain";
  w.air.max_constraint_degree = 2;
  air::Table t;
  t.name = "chain";
  t.num_columns = 2;
  const uint32_t col = t.Add(air::Expr::Column(0));
  uint32_t v = t.Add(air::Expr::Challenge(0));
  for (uint32_t i = 0; i + 4 < nodes; ++i) v = t.Add(air::Expr::Binary(air::ExprOp::kAdd, v, col));
  const uint32_t zero = t.Add(air::Expr::Binary(air::ExprOp::kSub, v, v));
  t.constraints.push_back({air::ConstraintKind::kEveryRow, zero, "chain"});
  w.air.tables.push_back(std::move(t));
  w.trace.tables.emplace_back(2, log_rows);
  for (size_t r = 0; r < w.trace.tables[0].rows(); ++r) {
    w.trace.tables[0].column(0)[r] = Fp::FromU64(r);
    w.trace.tables[0].column(1)[r] = Fp::FromU64(r * r);
  }
  return w;
}

}  // namespace prover::testing
