#include "engine/protocol/shape.h"

#include <algorithm>
#include <cmath>

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
                         const ProofParams& given) {
  // Framing: a tag and a length of at most 10 bytes for every length-delimited field, a
  // few per message; 64 bytes per message covers it.
  constexpr uint64_t kFrame = 64, kDigest = 32, kFp = 8, kFp3 = 24;
  auto resolved = ResolveParams(given, air, log_rows);
  const ProofParams params = resolved.ok() ? *resolved : given;
  const uint64_t q = params.num_queries;
  uint64_t bytes = 1024;  // parameters, version, security bits, nonce
  std::vector<int> log_lde;
  for (size_t t = 0; t < air.tables.size() && t < log_rows.size(); ++t) {
    log_lde.push_back(log_rows[t] + int(params.log_blowup));
  }
  const FriSchedule schedule = MakeFriSchedule(params, log_lde);
  const uint64_t log_m0 = uint64_t(schedule.log_size.front());
  // A virtual layer 0 opens whole groups of a_0 rows in the tables as tall as M_0.
  const uint64_t group_bits = schedule.virtual_first ? uint64_t(schedule.log_arity[0]) : 0;
  uint64_t round_height[3] = {0, 0, 0};  // main, aux, quotient
  for (size_t t = 0; t < log_lde.size(); ++t) {
    const air::Table& table = air.tables[t];
    const TableShape shape = ShapeOf(table, air.max_constraint_degree);
    const uint64_t height = uint64_t(log_lde[t]);
    const uint64_t main = table.num_columns, aux = shape.aux_columns, parts = shape.quotient_parts;
    bytes += 8 * kFrame + kFp3;                    // the table's fields, LogUp sum
    bytes += (2 * main + 2 * aux + parts) * kFp3;  // OOD values
    const uint64_t rows =
        height == log_m0 ? OpenedLeaves(q << group_bits, height) : OpenedLeaves(q, height);
    bytes += rows * (main * kFp + aux * kFp3 + parts * kFp3);  // opened rows
    round_height[0] = std::max(round_height[0], height);
    if (aux > 0) round_height[1] = std::max(round_height[1], height);
    round_height[2] = std::max(round_height[2], height);
  }
  for (uint64_t h : round_height) {
    if (h == 0) continue;  // no aux round
    // Opened groups of 2^group_bits bottom nodes need no siblings below their group.
    const uint64_t g = h == log_m0 ? group_bits : 0;
    bytes += 2 * kFrame + kDigest + PathDigests(q, h - g) * kDigest;
  }
  for (int i = schedule.first_committed(); i < schedule.num_folds(); ++i) {
    const uint64_t arity = uint64_t{1} << schedule.log_arity[size_t(i)];
    const uint64_t height = uint64_t(schedule.log_size[size_t(i)] - schedule.log_arity[size_t(i)]);
    bytes += 4 * kFrame + kDigest + OpenedLeaves(q, height) * arity * kFp3 +
             PathDigests(q, height) * kDigest;
  }
  const int log_final = schedule.log_final_layer() - int(params.log_blowup);
  bytes += kFrame + (uint64_t{1} << std::max(0, log_final)) * kFp3;
  return bytes;
}

absl::StatusOr<ProofParams> ResolveParams(const ProofParams& params, const air::Air& air,
                                          std::span<const int> log_rows) {
  ProofParams p = params;
  if (!ValidateParams(p, air.max_constraint_degree).ok()) {
    // Out of range: returned as given (auto as committed), for the caller's parameter
    // check (CheckSecurity) to refuse with its message; no schedule is computed from them.
    if (p.first_layer == FirstLayer::kAuto) p.first_layer = FirstLayer::kCommitted;
    return p;
  }
  std::vector<int> log_lde;
  for (int l : log_rows) log_lde.push_back(l + int(p.log_blowup));
  if (log_lde.empty()) {
    if (p.first_layer == FirstLayer::kAuto) p.first_layer = FirstLayer::kCommitted;
    return p;
  }
  ProofParams committed = p;
  committed.first_layer = FirstLayer::kCommitted;
  const FriSchedule schedule = MakeFriSchedule(committed, log_lde);
  if (schedule.num_folds() == 0) {
    if (p.first_layer == FirstLayer::kVirtual) {
      return absl::InvalidArgumentError(
          "params.first_layer: virtual, but at these heights no FRI layer folds (the first "
          "layer is already of the final size)");
    }
    p.first_layer = FirstLayer::kCommitted;
    return p;
  }
  if (p.first_layer != FirstLayer::kAuto) return p;
  // Per query: a virtual layer 0 opens a_0 - 1 more rows of each table as tall as M_0; it
  // saves layer 0's group (less the value the verifier knows), its path below the q
  // queries' common top, and log a_0 levels of path in every trace round tree as tall.
  const int log_m0 = schedule.log_size[0], log_a = schedule.log_arity[0];
  const double extra_rows = double((1 << log_a) - 1);
  double width = 0;  // base values per row of the tallest tables, in every round
  int trees = 2;     // main and quotient, and aux when a tallest table has interactions
  for (size_t t = 0; t < log_lde.size() && t < air.tables.size(); ++t) {
    if (log_lde[t] != log_m0) continue;
    const TableShape shape = ShapeOf(air.tables[t], air.max_constraint_degree);
    width += air.tables[t].num_columns + 3.0 * shape.aux_columns + 3.0 * shape.quotient_parts;
    if (shape.aux_columns != 0) trees = 3;
  }
  const double extra = extra_rows * 8 * width;
  const double path =
      std::max(0.0, double(log_m0 - log_a) - std::log2(double(std::max(1u, p.num_queries))));
  const double saved = 24 * extra_rows + 32 * path + 32.0 * log_a * trees;
  p.first_layer = extra < saved ? FirstLayer::kVirtual : FirstLayer::kCommitted;
  return p;
}

}  // namespace prover::stark
