#include "engine/air/checker.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "engine/air/eval.h"
#include "engine/hash/transcript.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover::air {
namespace {

constexpr size_t kRowChunk = 4096;

std::string TableLabel(const Air& air, uint32_t t) {
  return air.tables[t].name.empty() ? absl::StrCat("tables[", t, "]")
                                    : absl::StrCat("tables[", t, "] (", air.tables[t].name, ")");
}

bool Applies(ConstraintKind kind, size_t row, size_t rows) {
  switch (kind) {
    case ConstraintKind::kEveryRow:
      return true;
    case ConstraintKind::kTransition:
      return row + 1 < rows;
    case ConstraintKind::kFirstRow:
      return row == 0;
    case ConstraintKind::kLastRow:
      return row + 1 == rows;
  }
  return false;
}

// Failures of one table's rows [begin, end), in row then constraint order.
template <typename F>
void CheckRows(const Table& table, const TableTrace& tt, uint32_t t, size_t begin, size_t end,
               std::span<const Fp> publics, std::span<const F> challenges,
               std::vector<ConstraintFailure>& out, uint64_t& count, size_t cap) {
  const size_t rows = tt.rows();
  std::vector<F> cur(table.num_columns), next(table.num_columns), values;
  for (size_t r = begin; r < end; ++r) {
    for (uint32_t c = 0; c < table.num_columns; ++c) {
      cur[c] = Lift<F>(tt.at(c, r));
      next[c] = Lift<F>(tt.at(c, (r + 1) & (rows - 1)));
    }
    EvaluateRow<F>(table, cur, next, publics, challenges, values);
    for (uint32_t k = 0; k < table.constraints.size(); ++k) {
      const Constraint& con = table.constraints[k];
      if (!Applies(con.kind, r, rows) || values[con.expr] == F()) continue;
      ++count;
      if (out.size() < cap) out.push_back(ConstraintFailure{t, r, k});
    }
  }
}

struct BusKey {
  uint32_t bus;
  std::vector<uint64_t> tuple;
  bool operator==(const BusKey& o) const { return bus == o.bus && tuple == o.tuple; }
};
struct BusKeyHash {
  size_t operator()(const BusKey& k) const {
    uint64_t h = k.bus * 0x9e3779b97f4a7c15ull;
    for (uint64_t v : k.tuple) h = (h ^ v) * 0xff51afd7ed558ccdull + 0x632be59bd9b4e5f5ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
struct BusEntry {
  Fp sum;
  uint32_t table;
  uint64_t row;
};

}  // namespace

std::string CheckReport::Describe(const Air& air) const {
  std::string s;
  for (const ConstraintFailure& f : failures) {
    const Constraint& c = air.tables[f.table].constraints[f.constraint];
    absl::StrAppend(&s, TableLabel(air, f.table), " row ", f.row, ": constraints[", f.constraint,
                    "]", c.name.empty() ? "" : absl::StrCat(" (", c.name, ")"),
                    " is not satisfied\n");
  }
  if (failure_count > failures.size()) {
    absl::StrAppend(&s, "... and ", failure_count - failures.size(), " more constraint failures\n");
  }
  for (const BusImbalance& b : imbalances) {
    std::string tuple;
    for (size_t i = 0; i < b.tuple.size(); ++i) {
      absl::StrAppend(&tuple, i ? ", " : "", b.tuple[i].value());
    }
    absl::StrAppend(&s, "bus ", b.bus, " is unbalanced: tuple (", tuple, ") has net multiplicity ",
                    b.net_multiplicity.value(), " (first sent by ", TableLabel(air, b.table),
                    " row ", b.row, ")\n");
  }
  if (imbalance_count > imbalances.size()) {
    absl::StrAppend(&s, "... and ", imbalance_count - imbalances.size(),
                    " more unbalanced tuples\n");
  }
  return s;
}

absl::Status CheckShapes(const Air& air, const Trace& trace, std::span<const Fp> public_inputs) {
  if (public_inputs.size() != air.public_inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("public_inputs: ", public_inputs.size(),
                                                   " values for ", air.public_inputs.size(),
                                                   " public inputs"));
  }
  if (trace.tables.size() != air.tables.size()) {
    return absl::InvalidArgumentError(absl::StrCat("trace.tables: ", trace.tables.size(),
                                                   " tables for an AIR of ", air.tables.size()));
  }
  for (size_t t = 0; t < air.tables.size(); ++t) {
    const Table& table = air.tables[t];
    const TableTrace& tt = trace.tables[t];
    if (tt.num_columns() != table.num_columns) {
      return absl::InvalidArgumentError(absl::StrCat("trace.tables[", t, "]: ", tt.num_columns(),
                                                     " columns for a table of ",
                                                     table.num_columns));
    }
    if (tt.log_rows() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace.tables[", t, "]: a table needs at least 2 rows"));
    }
    if (table.fixed_log_rows >= 0 && tt.log_rows() != table.fixed_log_rows) {
      return absl::InvalidArgumentError(absl::StrCat("trace.tables[", t, "]: 2^", tt.log_rows(),
                                                     " rows, but the table is fixed at 2^",
                                                     table.fixed_log_rows));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckReport> CheckTrace(const Air& air, const Trace& trace,
                                       std::span<const Fp> public_inputs, size_t max_failures) {
  if (auto s = CheckShapes(air, trace, public_inputs); !s.ok()) return s;
  CheckReport report;
  // Fixed pseudo-random challenges for constraints that mention them.
  Transcript tr("prover.check");
  const Fp3 challenges[kNumChallenges] = {tr.ChallengeFp3("alpha"), tr.ChallengeFp3("beta")};

  for (uint32_t t = 0; t < air.tables.size(); ++t) {
    const Table& table = air.tables[t];
    const TableTrace& tt = trace.tables[t];
    const size_t rows = tt.rows(), chunks = (rows + kRowChunk - 1) / kRowChunk;
    std::vector<std::vector<ConstraintFailure>> found(chunks);
    std::vector<uint64_t> counts(chunks, 0);
    const bool ext = UsesChallenges(table);
    tbb::parallel_for(size_t{0}, chunks, [&](size_t ch) {
      const size_t begin = ch * kRowChunk, end = std::min(rows, begin + kRowChunk);
      if (ext) {
        CheckRows<Fp3>(table, tt, t, begin, end, public_inputs, challenges, found[ch], counts[ch],
                       max_failures);
      } else {
        CheckRows<Fp>(table, tt, t, begin, end, public_inputs, {}, found[ch], counts[ch],
                      max_failures);
      }
    });
    for (size_t ch = 0; ch < chunks; ++ch) {
      report.failure_count += counts[ch];
      for (const auto& f : found[ch]) {
        if (report.failures.size() < max_failures) report.failures.push_back(f);
      }
    }
  }

  // Buses: exact multiset balance, in a deterministic (table, row, interaction) order.
  std::unordered_map<BusKey, BusEntry, BusKeyHash> sums;
  std::vector<BusKey> order;  // first occurrence order, for a stable report
  for (uint32_t t = 0; t < air.tables.size(); ++t) {
    const Table& table = air.tables[t];
    if (table.interactions.empty()) continue;
    const TableTrace& tt = trace.tables[t];
    std::vector<Fp> cur(table.num_columns), values;
    for (size_t r = 0; r < tt.rows(); ++r) {
      for (uint32_t c = 0; c < table.num_columns; ++c) cur[c] = tt.at(c, r);
      EvaluateRow<Fp>(table, cur, cur, public_inputs, {}, values);
      for (const Interaction& in : table.interactions) {
        const Fp m = values[in.multiplicity];
        if (m.IsZero()) continue;
        BusKey key{in.bus, {}};
        for (uint32_t v : in.values) key.tuple.push_back(values[v].value());
        auto [it, inserted] = sums.try_emplace(key, BusEntry{Fp::Zero(), t, r});
        if (inserted) order.push_back(key);
        it->second.sum += m;
      }
    }
  }
  for (const BusKey& key : order) {
    const BusEntry& e = sums.at(key);
    if (e.sum.IsZero()) continue;
    ++report.imbalance_count;
    if (report.imbalances.size() < max_failures) {
      BusImbalance b{key.bus, {}, e.sum, e.table, e.row};
      for (uint64_t v : key.tuple) b.tuple.push_back(Fp::FromCanonical(v));
      report.imbalances.push_back(std::move(b));
    }
  }
  return report;
}

absl::Status ReportToStatus(const Air& air, const CheckReport& report) {
  if (report.ok()) return absl::OkStatus();
  std::string first = report.Describe(air);
  first = first.substr(0, first.find('\n'));
  return absl::FailedPreconditionError(
      absl::StrCat("the trace does not satisfy the AIR: ", first, " (", report.failure_count,
                   " constraint failures, ", report.imbalance_count, " unbalanced bus tuples)"));
}

}  // namespace prover::air
