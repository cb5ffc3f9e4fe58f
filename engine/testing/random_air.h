// Random multi-table AIRs with satisfying traces, for completeness and soundness tests.
//
// Every table has a counter column (first-row, transition and last-row constraints tied
// to public inputs), free random columns, "product" columns fixed by every-row
// constraints of the AIR's full degree, and a boolean selector. Some tables are lookup
// tables (distinct key tuples and a multiplicity column that receives on their own bus);
// the others send tuples drawn from the lookup tables' rows, gated by their selector, on
// one or more interactions each. So every bus balances exactly, interactions come with
// several multiplicities, tuple widths and degrees, and tables of different heights meet
// on one bus.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/air/air.h"
#include "engine/air/eval.h"
#include "engine/air/trace.h"
#include "engine/air/workload.h"

namespace prover::testing {

struct RandomAirOptions {
  uint64_t seed = 0;
  int num_tables = 3;
  int min_log_rows = 1;
  int max_log_rows = 6;
  uint32_t max_degree = 3;    // the AIR's max_constraint_degree, >= 2
  int num_lookup_tables = 1;  // at most num_tables - 1 when senders are wanted
};

inline air::WorkloadInstance RandomAir(const RandomAirOptions& o) {
  using air::Expr;
  using air::ExprOp;
  std::mt19937_64 rng(o.seed);
  auto rand_fp = [&] { return Fp::FromU64(rng()); };
  auto rand_int = [&](int lo, int hi) { return lo + int(rng() % uint64_t(hi - lo + 1)); };
  air::WorkloadInstance w;
  w.air.name = "random";
  w.air.max_constraint_degree = o.max_degree;
  const int T = o.num_tables;
  const int lookups = std::min(o.num_lookup_tables, T);
  struct Plan {
    int log_rows;
    int free_cols;
    int key_width;  // lookup tables only
  };
  std::vector<Plan> plans(T);
  for (int t = 0; t < T; ++t) {
    plans[t].log_rows = rand_int(o.min_log_rows, o.max_log_rows);
    plans[t].free_cols = rand_int(1, 4);
    plans[t].key_width = t < lookups ? rand_int(1, 3) : 0;
  }
  // Column layout: 0 counter, 1 selector, 2.. free, then products, then (lookup) keys and
  // the multiplicity, then (senders) the sent values.
  std::vector<air::TableTrace> traces;
  std::vector<uint32_t> bus_of(lookups);
  for (int t = 0; t < lookups; ++t) bus_of[t] = uint32_t(rng() % 1000) * 8 + uint32_t(t);
  // Sender plans: for each sender table, interactions (target lookup table, mult kind,
  // whether the first value is sent as a degree-2 product).
  struct Send {
    int target;
    bool product;
  };
  std::vector<std::vector<Send>> sends(T);
  if (lookups > 0) {
    for (int t = lookups; t < T; ++t) {
      const int k = rand_int(0, 3);
      for (int i = 0; i < k; ++i) {
        sends[t].push_back(Send{rand_int(0, lookups - 1), o.max_degree >= 3 && rng() % 2 == 0});
      }
    }
  }
  std::vector<std::vector<uint64_t>> lookup_counts(lookups);
  for (int t = 0; t < lookups; ++t) lookup_counts[t].assign(size_t{1} << plans[t].log_rows, 0);

  for (int t = 0; t < T; ++t) {
    const Plan& p = plans[t];
    air::Table tab;
    tab.name = "t" + std::to_string(t);
    const uint32_t counter = 0, sel = 1, free0 = 2;
    const uint32_t products = free0 + uint32_t(p.free_cols);
    const uint32_t num_products = 2;
    uint32_t next_col = products + num_products;
    const uint32_t keys = next_col;
    next_col += uint32_t(p.key_width);
    const uint32_t mult = next_col;
    if (t < lookups) next_col += 1;
    const uint32_t sent = next_col;
    uint32_t sent_cols = 0;
    for (const Send& s : sends[t])
      sent_cols += uint32_t(plans[s.target].key_width) + (s.product ? 1 : 0);
    next_col += sent_cols;
    tab.num_columns = next_col;

    // Constraints.
    const uint32_t pi_start = uint32_t(w.air.public_inputs.size());
    w.air.public_inputs.push_back(tab.name + ".start");
    w.air.public_inputs.push_back(tab.name + ".end");
    const Fp step = rand_fp();
    const uint32_t c = tab.Add(Expr::Column(counter)), c_next = tab.Add(Expr::Column(counter, 1));
    const uint32_t start = tab.Add(Expr::PublicInput(pi_start));
    const uint32_t end = tab.Add(Expr::PublicInput(pi_start + 1));
    const uint32_t step_node = tab.Add(Expr::Constant(step));
    auto bin = [&](ExprOp op, uint32_t a, uint32_t b) { return tab.Add(Expr::Binary(op, a, b)); };
    tab.constraints.push_back(
        {air::ConstraintKind::kFirstRow, bin(ExprOp::kSub, c, start), "start"});
    tab.constraints.push_back({air::ConstraintKind::kTransition,
                               bin(ExprOp::kSub, c_next, bin(ExprOp::kAdd, c, step_node)), "step"});
    tab.constraints.push_back({air::ConstraintKind::kLastRow, bin(ExprOp::kSub, c, end), "end"});
    const uint32_t s = tab.Add(Expr::Column(sel));
    const uint32_t one = tab.Add(Expr::Constant(Fp::One()));
    tab.constraints.push_back({air::ConstraintKind::kEveryRow,
                               bin(ExprOp::kMul, s, bin(ExprOp::kSub, s, one)), "selector"});
    // Product k: prod_k = free[a] * free[b] * ... (max_degree factors) + constant.
    std::vector<Fp> offsets(num_products);
    for (uint32_t k = 0; k < num_products; ++k) {
      uint32_t acc = tab.Add(Expr::Column(free0 + uint32_t(rng() % p.free_cols)));
      for (uint32_t d = 1; d < o.max_degree; ++d) {
        const uint32_t f = free0 + uint32_t(rng() % p.free_cols);
        acc = bin(ExprOp::kMul, acc, tab.Add(Expr::Column(f)));
      }
      offsets[k] = rand_fp();
      acc = bin(ExprOp::kAdd, acc, tab.Add(Expr::Constant(offsets[k])));
      tab.constraints.push_back({air::ConstraintKind::kEveryRow,
                                 bin(ExprOp::kSub, tab.Add(Expr::Column(products + k)), acc),
                                 "product" + std::to_string(k)});
    }
    // Interactions.
    if (t < lookups) {
      air::Interaction in;
      in.bus = bus_of[t];
      for (int k = 0; k < p.key_width; ++k) in.values.push_back(tab.Add(Expr::Column(keys + k)));
      in.multiplicity = tab.Add(Expr::Neg(tab.Add(Expr::Column(mult))));
      tab.interactions.push_back(in);
    }
    uint32_t col = sent;
    for (const Send& snd : sends[t]) {
      air::Interaction in;
      in.bus = bus_of[snd.target];
      const int width = plans[snd.target].key_width;
      for (int k = 0; k < width; ++k) {
        if (k == 0 && snd.product) {
          // value = col * col2 (degree 2); the trace stores key / col2 and col2.
          in.values.push_back(
              bin(ExprOp::kMul, tab.Add(Expr::Column(col)), tab.Add(Expr::Column(col + 1))));
          col += 2;
        } else {
          in.values.push_back(tab.Add(Expr::Column(col)));
          col += 1;
        }
      }
      in.multiplicity = s;
      tab.interactions.push_back(in);
    }
    if (t == T - 1 && T > 1 && o.seed % 2 == 1) tab.fixed_log_rows = p.log_rows;
    w.air.tables.push_back(std::move(tab));
  }

  // Traces: lookup tables first (senders draw from their keys).
  traces.resize(T);
  for (int t = 0; t < T; ++t) {
    const Plan& p = plans[t];
    const air::Table& tab = w.air.tables[t];
    air::TableTrace tt(tab.num_columns, p.log_rows);
    const size_t n = tt.rows();
    const Fp step = Fp::FromCanonical(tab.exprs[4].value);
    const Fp start = rand_fp();
    Fp cur = start;
    for (size_t r = 0; r < n; ++r) {
      tt.at(0, r) = cur;
      if (r + 1 < n) cur = cur + step;
      tt.at(1, r) = (rng() % 2) ? Fp::One() : Fp::Zero();
      for (int f = 0; f < p.free_cols; ++f) tt.at(2 + f, r) = rand_fp();
    }
    w.public_inputs.push_back(start);
    w.public_inputs.push_back(cur);
    traces[t] = std::move(tt);
  }
  for (int t = 0; t < T; ++t) {
    const Plan& p = plans[t];
    const air::Table& tab = w.air.tables[t];
    air::TableTrace& tt = traces[t];
    const size_t n = tt.rows();
    const uint32_t products = 2 + uint32_t(p.free_cols);
    // Product columns from the constraint expressions themselves.
    for (uint32_t k = 0; k < 2; ++k) {
      const air::Constraint& con = tab.constraints[4 + k];
      const uint32_t rhs = tab.exprs[con.expr].rhs;  // prod - (factors + offset)
      std::vector<Fp> cur_row(tab.num_columns), values;
      for (size_t r = 0; r < n; ++r) {
        for (uint32_t cc = 0; cc < tab.num_columns; ++cc) cur_row[cc] = tt.at(cc, r);
        air::EvaluateRow<Fp>(tab, cur_row, cur_row, w.public_inputs, {}, values);
        tt.at(products + k, r) = values[rhs];
      }
    }
    if (t < lookups) {
      const uint32_t keys = products + 2;
      for (size_t r = 0; r < n; ++r) {
        for (int k = 0; k < p.key_width; ++k) tt.at(keys + uint32_t(k), r) = rand_fp();
      }
    }
  }
  for (int t = lookups; t < T; ++t) {
    const Plan& p = plans[t];
    air::TableTrace& tt = traces[t];
    const size_t n = tt.rows();
    uint32_t col = 2 + uint32_t(p.free_cols) + 2;
    for (const Send& snd : sends[t]) {
      const air::TableTrace& target = traces[snd.target];
      const uint32_t keys = 2 + uint32_t(plans[snd.target].free_cols) + 2;
      const int width = plans[snd.target].key_width;
      for (size_t r = 0; r < n; ++r) {
        const size_t row = rng() % target.rows();
        if (tt.at(1, r) == Fp::One()) ++lookup_counts[snd.target][row];
        uint32_t cc = col;
        for (int k = 0; k < width; ++k) {
          const Fp key = target.at(keys + uint32_t(k), row);
          if (k == 0 && snd.product) {
            Fp other = rand_fp();
            if (other.IsZero()) other = Fp::One();
            tt.at(cc, r) = key * other.Inverse();
            tt.at(cc + 1, r) = other;
            cc += 2;
          } else {
            tt.at(cc, r) = key;
            cc += 1;
          }
        }
      }
      col += uint32_t(width) + (snd.product ? 1 : 0);
    }
  }
  for (int t = 0; t < lookups; ++t) {
    const uint32_t mult = 2 + uint32_t(plans[t].free_cols) + 2 + uint32_t(plans[t].key_width);
    for (size_t r = 0; r < traces[t].rows(); ++r) {
      traces[t].at(mult, r) = Fp::FromU64(lookup_counts[t][r]);
    }
  }
  w.trace.tables = std::move(traces);
  return w;
}

}  // namespace prover::testing
