#include "engine/air/checker.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>
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

// Bus balance, exactly and in parallel: every row chunk records its (bus, tuple,
// multiplicity) occurrences into shards by a hash of (bus, tuple); each shard then sums
// its tuples in an open-addressing table, visiting chunks in (table, row) order so that
// the first occurrence of a tuple is known. No tuple is ever compared by hash alone.
constexpr int kShardBits = 6;
constexpr size_t kShards = size_t{1} << kShardBits;

struct BusRecord {
  uint64_t hash;
  uint64_t row;
  uint32_t interaction;
  uint32_t offset;  // of the tuple in ChunkBus::words
  Fp m;
};

struct ChunkBus {
  uint32_t table = 0;
  std::vector<uint64_t> words;
  std::vector<BusRecord> shard[kShards];
};

uint64_t TupleHash(uint32_t bus, const uint64_t* tuple, size_t len) {
  uint64_t h = (bus + 1) * 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < len; ++i) {
    h = (h ^ tuple[i]) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

template <typename F>
uint64_t BaseValue(const F& v) {
  if constexpr (std::is_same_v<F, Fp>) {
    return v.value();
  } else {
    return v.coeff(0).value();  // interaction expressions never use challenges (air::Validate)
  }
}

// Failures of one table's rows [begin, end), in row then constraint order, and the bus
// occurrences of those rows.
template <typename F>
void CheckRows(const Table& table, const TableTrace& tt, uint32_t t, size_t begin, size_t end,
               std::span<const Fp> publics, std::span<const F> challenges,
               std::vector<ConstraintFailure>& out, uint64_t& count, size_t cap, ChunkBus& bus,
               const std::stop_token& stop) {
  const size_t rows = tt.rows();
  std::vector<F> cur(table.num_columns), next(table.num_columns), values;
  bus.table = t;
  for (size_t r = begin; r < end; ++r) {
    if ((r & 63) == 0 && stop.stop_requested()) return;
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
    for (uint32_t k = 0; k < table.interactions.size(); ++k) {
      const Interaction& in = table.interactions[k];
      const Fp m = Fp::FromCanonical(BaseValue(values[in.multiplicity]));
      if (m.IsZero()) continue;
      const uint32_t offset = static_cast<uint32_t>(bus.words.size());
      for (uint32_t v : in.values) bus.words.push_back(BaseValue(values[v]));
      const uint64_t h = TupleHash(in.bus, bus.words.data() + offset, in.values.size());
      bus.shard[h >> (64 - kShardBits)].push_back(BusRecord{h, r, k, offset, m});
    }
  }
}

struct Imbalance {
  uint32_t table;
  uint64_t row;
  uint32_t interaction;
  const uint64_t* tuple;
  Fp sum;
};

// The unbalanced tuples of one shard, each at its first occurrence.
std::vector<Imbalance> BalanceShard(const Air& air, const std::vector<ChunkBus>& chunks,
                                    size_t shard) {
  size_t total = 0;
  for (const ChunkBus& c : chunks) total += c.shard[shard].size();
  if (total == 0) return {};
  size_t cap = 16;
  while (cap < 2 * total) cap *= 2;
  struct Slot {
    const ChunkBus* chunk = nullptr;
    const BusRecord* rec = nullptr;  // first occurrence
    Fp sum;
  };
  std::vector<Slot> slots(cap);
  auto same = [&](const ChunkBus& a, const BusRecord& ra, const ChunkBus& b, const BusRecord& rb) {
    const Interaction& ia = air.tables[a.table].interactions[ra.interaction];
    const Interaction& ib = air.tables[b.table].interactions[rb.interaction];
    return ra.hash == rb.hash && ia.bus == ib.bus && ia.values.size() == ib.values.size() &&
           std::equal(a.words.begin() + ra.offset, a.words.begin() + ra.offset + ia.values.size(),
                      b.words.begin() + rb.offset);
  };
  for (const ChunkBus& c : chunks) {
    for (const BusRecord& r : c.shard[shard]) {
      for (size_t i = r.hash & (cap - 1);; i = (i + 1) & (cap - 1)) {
        Slot& s = slots[i];
        if (s.rec == nullptr) {
          s = Slot{&c, &r, r.m};
          break;
        }
        if (same(*s.chunk, *s.rec, c, r)) {
          s.sum += r.m;
          break;
        }
      }
    }
  }
  std::vector<Imbalance> out;
  for (const Slot& s : slots) {
    if (s.rec == nullptr || s.sum.IsZero()) continue;
    out.push_back(Imbalance{s.chunk->table, s.rec->row, s.rec->interaction,
                            s.chunk->words.data() + s.rec->offset, s.sum});
  }
  return out;
}

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
                                       std::span<const Fp> public_inputs, size_t max_failures,
                                       const std::stop_token& stop) {
  if (auto s = CheckShapes(air, trace, public_inputs); !s.ok()) return s;
  CheckReport report;
  // Fixed pseudo-random challenges for constraints that mention them.
  Transcript tr("prover.check");
  const Fp3 challenges[kNumChallenges] = {tr.ChallengeFp3("alpha"), tr.ChallengeFp3("beta")};

  // Every (table, row chunk) in one parallel pass, results kept in that order.
  struct Task {
    uint32_t table;
    size_t begin, end;
  };
  std::vector<Task> tasks;
  for (uint32_t t = 0; t < air.tables.size(); ++t) {
    const size_t rows = trace.tables[t].rows();
    for (size_t b = 0; b < rows; b += kRowChunk)
      tasks.push_back({t, b, std::min(rows, b + kRowChunk)});
  }
  std::vector<std::vector<ConstraintFailure>> found(tasks.size());
  std::vector<uint64_t> counts(tasks.size(), 0);
  std::vector<ChunkBus> bus(tasks.size());
  tbb::parallel_for(size_t{0}, tasks.size(), [&](size_t i) {
    const Task& task = tasks[i];
    const Table& table = air.tables[task.table];
    const TableTrace& tt = trace.tables[task.table];
    if (UsesChallenges(table)) {
      CheckRows<Fp3>(table, tt, task.table, task.begin, task.end, public_inputs, challenges,
                     found[i], counts[i], max_failures, bus[i], stop);
    } else {
      CheckRows<Fp>(table, tt, task.table, task.begin, task.end, public_inputs, {}, found[i],
                    counts[i], max_failures, bus[i], stop);
    }
  });
  if (stop.stop_requested()) return absl::CancelledError("trace check stopped");
  for (size_t i = 0; i < tasks.size(); ++i) {
    report.failure_count += counts[i];
    for (const auto& f : found[i]) {
      if (report.failures.size() < max_failures) report.failures.push_back(f);
    }
  }

  // Buses: exact multiset balance per shard, then the unbalanced tuples in the order of
  // their first occurrence (table, row, interaction).
  std::vector<std::vector<Imbalance>> per_shard(kShards);
  tbb::parallel_for(size_t{0}, kShards,
                    [&](size_t s) { per_shard[s] = BalanceShard(air, bus, s); });
  std::vector<Imbalance> all;
  for (auto& v : per_shard) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end(), [](const Imbalance& a, const Imbalance& b) {
    return std::tie(a.table, a.row, a.interaction) < std::tie(b.table, b.row, b.interaction);
  });
  report.imbalance_count = all.size();
  for (const Imbalance& im : all) {
    if (report.imbalances.size() >= max_failures) break;
    const Interaction& in = air.tables[im.table].interactions[im.interaction];
    BusImbalance b{in.bus, {}, im.sum, im.table, im.row};
    for (size_t i = 0; i < in.values.size(); ++i) b.tuple.push_back(Fp::FromCanonical(im.tuple[i]));
    report.imbalances.push_back(std::move(b));
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
