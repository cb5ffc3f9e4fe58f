#include "engine/stark/shape.h"

#include <algorithm>

namespace prover::stark {

TableShape ShapeOf(const air::Table& table, uint32_t max_degree) {
  TableShape s;
  s.groups = GroupInteractions(table, max_degree);
  s.aux_columns = NumAuxColumns(s.groups);
  s.logup_constraints = NumLogUpConstraints(s.groups);
  const std::vector<uint32_t> degree = air::NodeDegrees(table);
  for (const air::Constraint& c : table.constraints) {
    const bool boundary =
        c.kind == air::ConstraintKind::kFirstRow || c.kind == air::ConstraintKind::kLastRow;
    s.degree = std::max(s.degree, degree[c.expr] + (boundary ? 1 : 0));
  }
  // C_G(v) = v phi_k phi_l - m_k phi_l - m_l phi_k or v phi_k - m_k, with v of degree 1 (a
  // helper column, or s' - s - helpers + constant).
  auto phi = [&](uint32_t k) {
    uint32_t d = 0;
    for (uint32_t v : table.interactions[k].values) d = std::max(d, degree[v]);
    return d;
  };
  auto mult = [&](uint32_t k) { return degree[table.interactions[k].multiplicity]; };
  for (const LogUpGroup& g : s.groups) {
    const auto& ks = g.interactions;
    uint32_t d;
    if (ks.size() == 2) {
      d = std::max(
          {1 + phi(ks[0]) + phi(ks[1]), mult(ks[0]) + phi(ks[1]), mult(ks[1]) + phi(ks[0])});
    } else {
      d = std::max(1 + phi(ks[0]), mult(ks[0]));
    }
    s.degree = std::max(s.degree, d);
  }
  s.quotient_parts = s.degree > 2 ? s.degree - 1 : 1;
  return s;
}

}  // namespace prover::stark
