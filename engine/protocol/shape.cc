#include "engine/protocol/shape.h"

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

namespace {

// Opened leaves of a tree of 2^height leaves under q queries, and the sibling digests of
// their multi-opening: at level l at most min(q, 2^(height - l)) nodes are on some path,
// each with one sibling.
uint64_t OpenedLeaves(uint64_t q, uint64_t height) {
  return height >= 63 ? q : std::min(q, uint64_t{1} << height);
}
uint64_t PathDigests(uint64_t q, uint64_t height) {
  uint64_t total = 0;
  for (uint64_t l = 0; l < height; ++l) total += OpenedLeaves(q, height - l);
  return total;
}

}  // namespace

uint64_t ProofBytesBound(const air::Air& air, std::span<const int> log_rows,
                         const ProofParams& params) {
  // Framing: a tag and a length of at most 10 bytes for every length-delimited field, a
  // few per message; 64 bytes per message covers it.
  constexpr uint64_t kFrame = 64, kDigest = 32, kFp = 8, kFp3 = 24;
  const uint64_t q = params.num_queries;
  uint64_t bytes = 1024;  // parameters, version, security bits, nonce
  std::vector<int> log_lde;
  for (size_t t = 0; t < air.tables.size() && t < log_rows.size(); ++t) {
    const air::Table& table = air.tables[t];
    const TableShape shape = ShapeOf(table, air.max_constraint_degree);
    const uint64_t height = uint64_t(log_rows[t]) + params.log_blowup;
    log_lde.push_back(int(height));
    const uint64_t main = table.num_columns, aux = shape.aux_columns, parts = shape.quotient_parts;
    const uint64_t trees = aux > 0 ? 3 : 2;
    bytes += 8 * kFrame + trees * kDigest + kFp3;  // roots, LogUp sum
    bytes += (2 * main + 2 * aux + parts) * kFp3;  // OOD values
    const uint64_t leaves = OpenedLeaves(q, height);
    bytes += leaves * (main * kFp + aux * kFp3 + parts * kFp3);        // opened rows
    bytes += trees * (PathDigests(q, height) * kDigest + 2 * kFrame);  // Merkle paths
  }
  const FriSchedule schedule = MakeFriSchedule(params, log_lde);
  for (int i = 0; i < schedule.num_committed(); ++i) {
    const uint64_t arity = uint64_t{1} << schedule.log_arity[size_t(i)];
    const uint64_t height = uint64_t(schedule.log_size[size_t(i)] - schedule.log_arity[size_t(i)]);
    bytes += 4 * kFrame + kDigest + OpenedLeaves(q, height) * arity * kFp3 +
             PathDigests(q, height) * kDigest;
  }
  const int log_final = schedule.log_final_layer() - int(params.log_blowup);
  bytes += kFrame + (uint64_t{1} << std::max(0, log_final)) * kFp3;
  return bytes;
}

}  // namespace prover::stark
