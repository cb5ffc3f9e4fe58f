// Evaluation of a table's expression DAG on one row, over the base field or the cubic
// extension (when challenges appear). Used by the constraint checker and the verifier's
// out-of-domain check.
#pragma once

#include <span>
#include <vector>

#include "engine/air/air.h"
#include "engine/field/extension.h"

namespace prover::air {

// Lifts Fp into F (identity for Fp, embedding for Fp3).
template <typename F>
inline F Lift(Fp x) {
  if constexpr (std::is_same_v<F, Fp>) {
    return x;
  } else {
    return F(x);
  }
}

// values[i] = node i. `current` and `next` hold the row's and the next row's column
// values; `challenges` must hold kNumChallenges values when F = Fp3 (with F = Fp the
// table may not use challenges).
template <typename F>
void EvaluateRow(const Table& table, std::span<const F> current, std::span<const F> next,
                 std::span<const Fp> public_inputs, std::span<const F> challenges,
                 std::vector<F>& values) {
  values.resize(table.exprs.size());
  for (size_t i = 0; i < table.exprs.size(); ++i) {
    const Expr& e = table.exprs[i];
    switch (e.op) {
      case ExprOp::kConstant:
        values[i] = Lift<F>(Fp::FromCanonical(e.value));
        break;
      case ExprOp::kColumn:
        values[i] = e.row_offset == 0 ? current[e.value] : next[e.value];
        break;
      case ExprOp::kPublicInput:
        values[i] = Lift<F>(public_inputs[e.value]);
        break;
      case ExprOp::kChallenge:
        values[i] = challenges[e.value];
        break;
      case ExprOp::kAdd:
        values[i] = values[e.lhs] + values[e.rhs];
        break;
      case ExprOp::kSub:
        values[i] = values[e.lhs] - values[e.rhs];
        break;
      case ExprOp::kMul:
        values[i] = values[e.lhs] * values[e.rhs];
        break;
      case ExprOp::kNeg:
        values[i] = -values[e.lhs];
        break;
    }
  }
}

inline bool UsesChallenges(const Table& table) {
  for (const Expr& e : table.exprs) {
    if (e.op == ExprOp::kChallenge) return true;
  }
  return false;
}

}  // namespace prover::air
