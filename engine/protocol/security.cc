#include "engine/protocol/security.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/field/goldilocks.h"
#include "engine/protocol/shape.h"

namespace prover::stark {
namespace {

constexpr double kNone = -std::numeric_limits<double>::infinity();
constexpr int kMaxProximity = 4096;  // the m searched: 3..4096

// What the figure depends on, from the AIR, the heights and the parameters.
struct Shape {
  double log2_field = 0;   // log2 |K|, |K| = p^3
  double log2_rho = 0;     // log2 rho+ = max_t log2((n_t + 2) / N_t)
  double log2_lde = 0;     // log2 N_0 = max_t log2 N_t
  double batched = 0;      // L: functions batched into FRI
  double arity_sum = 0;    // sum of the arities of the layers that fold (virtual included)
  double constraints = 0;  // C: every table's constraints, AIR and LogUp
  double deep_degree = 0;  // D (n + 1) + n - 1, n = max_t n_t
  double log2_logup = kNone;
};

Shape ShapeFor(const ProofParams& params, const air::Air& air, std::span<const int> log_rows) {
  Shape s;
  s.log2_field = 3 * std::log2(static_cast<double>(Fp::kModulus));
  const int b = int(params.log_blowup);
  double n_max = 0, logup_terms = 0;
  uint64_t longest_tuple = 0;
  std::vector<int> log_lde;
  s.log2_rho = kNone;
  for (size_t t = 0; t < air.tables.size() && t < log_rows.size(); ++t) {
    const air::Table& table = air.tables[t];
    const TableShape shape = ShapeOf(table, air.max_constraint_degree);
    const double n = std::exp2(log_rows[t]);
    n_max = std::max(n_max, n);
    log_lde.push_back(log_rows[t] + b);
    s.log2_lde = std::max(s.log2_lde, double(log_rows[t] + b));
    s.log2_rho = std::max(s.log2_rho, std::log2(n + 2) - double(log_rows[t] + b));
    s.batched += 2.0 * table.num_columns + 2.0 * shape.aux_columns + shape.quotient_parts;
    s.constraints += double(table.constraints.size()) + shape.logup_constraints;
    logup_terms += n * double(table.interactions.size());
    for (const air::Interaction& in : table.interactions)
      longest_tuple = std::max<uint64_t>(longest_tuple, in.values.size());
  }
  s.batched += double(air.tables.size());  // the tables' own batching (lambda)
  const FriSchedule schedule = MakeFriSchedule(params, log_lde);
  for (int a : schedule.log_arity) s.arity_sum += std::exp2(a);
  s.deep_degree = double(air.max_constraint_degree) * (n_max + 1) + n_max - 1;
  if (logup_terms > 0) {
    s.log2_logup = std::log2(logup_terms) + std::log2(double(longest_tuple) + 1) - s.log2_field;
  }
  return s;
}

// The error terms at one m, as numbers (every term is far above the smallest double).
struct Terms {
  double commit, query, ali, deep, logup;
  double total() const { return commit + query + ali + deep + logup; }
};

// What does not depend on m, once.
struct Constants {
  double batch;      // (L - 1/2) / (2 rho+^(3/2)) * N_0^2 / |K|
  double fold;       // (N_0 + 1) S / |K|
  double log2_rate;  // q/2 log2 rho+ - grinding
  double list;       // 1 / sqrt(rho+)
  double ali, deep;  // C / |K|, (D (n + 1) + n - 1) / (|K| - 2 N_0)
  double logup;
  double queries;
};

Constants ConstantsFor(const Shape& s, const ProofParams& params) {
  Constants c;
  const double field = std::exp2(s.log2_field), lde = std::exp2(s.log2_lde);
  const double rho = std::exp2(s.log2_rho);
  c.batch = (s.batched - 0.5) / (2 * rho * std::sqrt(rho)) * lde * lde / field;
  c.fold = (lde + 1) * s.arity_sum / field;
  c.log2_rate = double(params.num_queries) * 0.5 * s.log2_rho - double(params.grinding_bits);
  c.list = 1 / std::sqrt(rho);
  c.ali = s.constraints / field;
  // |K| - |D u H| >= |K| - 2 N_0: the DEEP point avoids both domains.
  c.deep = s.deep_degree / (field - 2 * lde);
  c.logup = s.log2_logup == kNone ? 0 : std::exp2(s.log2_logup);
  c.queries = double(params.num_queries);
  return c;
}

Terms At(const Constants& c, int m) {
  const double h = m + 0.5;
  const double h2 = h * h, h7 = h2 * h2 * h2 * h;
  const double list = h * c.list;  // L+ = (m + 1/2) / sqrt(rho+)
  Terms t;
  t.commit = c.batch * h7 + c.fold * (2.0 * m + 1);
  t.query = std::exp2(c.queries * std::log2(1 + 1 / (2.0 * m)) + c.log2_rate);
  t.ali = list * c.ali;
  t.deep = list * c.deep;
  t.logup = c.logup;
  return t;
}

double Log2(double x) { return x > 0 ? std::log2(x) : kNone; }

}  // namespace

ProvenSecurity ProvenSecurityOf(const ProofParams& params, const air::Air& air,
                                std::span<const int> table_log_rows) {
  if (table_log_rows.empty() || air.tables.empty()) return ProvenSecurity();  // 0 bits
  const Constants c = ConstantsFor(ShapeFor(params, air, table_log_rows), params);
  int best_m = 3;
  Terms best = At(c, 3);
  for (int m = 4; m <= kMaxProximity; ++m) {
    const Terms t = At(c, m);
    if (t.total() < best.total()) best = t, best_m = m;
  }
  ProvenSecurity r;
  if (!std::isfinite(best.total())) return r;  // 0 bits
  r.m = best_m;
  r.log2_commit = Log2(best.commit);
  r.log2_query = Log2(best.query);
  r.log2_ali = Log2(best.ali);
  r.log2_deep = Log2(best.deep);
  r.log2_logup = Log2(best.logup);
  r.log2_total = Log2(best.total());
  const double bits = std::floor(-r.log2_total);
  r.bits = bits <= 0 ? 0 : uint32_t(std::min<double>(bits, kHashSecurityBits));
  return r;
}

absl::Status CheckSecurity(const ProofParams& params, const air::Air& air,
                           std::span<const int> table_log_rows, const SecurityFloors& floors) {
  if (auto s = ValidateParams(params, air.max_constraint_degree); !s.ok()) return s;
  const uint32_t conjectured = SecurityBits(params, table_log_rows, air.max_constraint_degree);
  if (conjectured < floors.conjectured) {
    return absl::InvalidArgumentError(
        absl::StrCat("params: conjectured security ", conjectured, " bits is below the minimum ",
                     floors.conjectured, " (num_queries * log_blowup + grinding_bits = ",
                     params.num_queries * params.log_blowup + params.grinding_bits, ")"));
  }
  if (floors.proven > 0) {
    const ProvenSecurity proven = ProvenSecurityOf(params, air, table_log_rows);
    if (proven.bits < floors.proven) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "params: proven security %u bits is below the minimum %u (errors at m = %d: commit "
          "2^%.1f, queries 2^%.1f, DEEP 2^%.1f, ALI 2^%.1f)",
          proven.bits, floors.proven, proven.m, proven.log2_commit, proven.log2_query,
          proven.log2_deep, proven.log2_ali));
    }
  }
  return absl::OkStatus();
}

namespace {

struct PresetSpec {
  SecurityPreset preset;
  std::string_view name;
  bool proven;
  uint32_t target;
  uint32_t log_blowup, grinding_bits, log_fri_arity, log_final_size;
};

constexpr PresetSpec kPresets[] = {
    {SecurityPreset::kConjectured100, "conjectured-100", false, 100, 3, 16, 3, 5},
    {SecurityPreset::kConjectured128, "conjectured-128", false, 128, 4, 20, 3, 5},
    {SecurityPreset::kProven100, "proven-100", true, 100, 4, 20, 3, 5},
    {SecurityPreset::kProven128, "proven-128", true, 128, 4, 20, 3, 5},
};

const PresetSpec& Spec(SecurityPreset preset) {
  for (const PresetSpec& p : kPresets) {
    if (p.preset == preset) return p;
  }
  return kPresets[0];
}

}  // namespace

absl::StatusOr<SecurityPreset> ParseSecurityPreset(std::string_view name) {
  for (const PresetSpec& p : kPresets) {
    if (p.name == name) return p.preset;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("security: unknown preset '", std::string(name),
                   "' (conjectured-100, conjectured-128, proven-100 or proven-128)"));
}

std::string_view SecurityPresetName(SecurityPreset preset) { return Spec(preset).name; }

absl::StatusOr<PresetParams> ChoosePresetParams(SecurityPreset preset, const air::Air& air,
                                                std::span<const int> table_log_rows) {
  const PresetSpec& spec = Spec(preset);
  PresetParams out;
  out.params.grinding_bits = spec.grinding_bits;
  out.params.log_fri_arity = spec.log_fri_arity;
  out.params.log_final_size = spec.log_final_size;
  out.floors.conjectured = spec.proven ? kDefaultMinSecurityBits : spec.target;
  out.floors.proven = spec.proven ? spec.target : 0;
  auto figure = [&](uint32_t q) {
    out.params.num_queries = q;
    return spec.proven ? ProvenSecurityOf(out.params, air, table_log_rows).bits
                       : SecurityBits(out.params, table_log_rows, air.max_constraint_degree);
  };
  // The preset's blowup, then (proven presets) the smaller ones the AIR allows: a smaller
  // LDE shrinks the commit phase's term, which bounds the proven figure.
  int max_log_rows = 0;
  for (int l : table_log_rows) max_log_rows = std::max(max_log_rows, l);
  uint32_t best = 0, best_blowup = spec.log_blowup;
  bool tried = false;
  for (uint32_t b = spec.log_blowup; b >= 1; --b) {
    if ((uint32_t{1} << b) + 1 < air.max_constraint_degree) break;  // B >= D - 1
    if (b != spec.log_blowup && !spec.proven) break;
    if (max_log_rows + int(b) > Fp::kTwoAdicity) continue;  // l_t + b <= 32
    tried = true;
    out.params.log_blowup = b;
    // Both figures grow with the number of queries: the fewest that reach the target.
    const uint32_t reach = figure(256);
    if (reach < spec.target) {
      if (reach > best) best = reach, best_blowup = b;
      continue;
    }
    uint32_t lo = 1, hi = 256;
    while (lo < hi) {
      const uint32_t mid = (lo + hi) / 2;
      if (figure(mid) >= spec.target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    out.params.num_queries = lo;
    if (auto s = CheckSecurity(out.params, air, table_log_rows, out.floors); !s.ok()) return s;
    return out;
  }
  if (!tried) {
    return absl::InvalidArgumentError(
        absl::StrCat("security: ", std::string(spec.name), " takes blowup ",
                     uint32_t{1} << spec.log_blowup, ", which this AIR (max_constraint_degree ",
                     air.max_constraint_degree, ") or these heights do not allow"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "security: ", std::string(spec.name), " is out of reach for these heights: at most ", best,
      " ", spec.proven ? "proven" : "conjectured", " bits (blowup ", uint32_t{1} << best_blowup,
      ", 256 queries",
      spec.proven ? "; the proven figure is bounded by the commit phase's term, which grows "
                    "with the square of the largest LDE)"
                  : ")"));
}

}  // namespace prover::stark
