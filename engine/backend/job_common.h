// Small pieces every backend's job shares: each table's layout, its memory counter, the
// rows and groups a query opens (docs/PROTOCOL.md section 9).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/backend/backend.h"
#include "engine/base/bits.h"
#include "engine/protocol/shape.h"

namespace prover::backend {

// What a job knows of table t before any data: heights and the protocol's shape
// (stark/shape.h). Each backend's per-table state extends it with its own buffers.
struct TableLayout {
  const air::Table* table = nullptr;
  int log_n = 0, log_N = 0;
  std::vector<stark::LogUpGroup> groups;
  uint32_t aux_columns = 0;  // extension columns: helpers then the running sum
  uint32_t parts = 1;        // quotient parts
  uint64_t n() const { return uint64_t{1} << log_n; }
  uint64_t N() const { return uint64_t{1} << log_N; }

  void Init(const JobSpec& spec, size_t t) {
    table = &spec.air->tables[t];
    log_n = spec.log_rows[t];
    log_N = log_n + spec.log_blowup;
    stark::TableShape shape = stark::ShapeOf(*table, spec.air->max_constraint_degree);
    groups = std::move(shape.groups);
    aux_columns = shape.aux_columns;
    parts = shape.quotient_parts;
  }
};

// One table as the memory estimates see it.
struct TableBytes {
  const air::Table* table = nullptr;
  stark::TableShape shape;
  uint64_t n = 0, N = 0;  // rows, LDE rows
};

// The peak bytes of a job's buffers that every engine holds: each table's main, aux and
// quotient LDEs (8 bytes a value) and their three Merkle trees (2N digests each), and the
// first FRI layer (24 bytes a value, with the next) and its tree; plus what `extra(table)`
// says one engine keeps besides for a table. Admission control uses it (Backend::
// EstimatePeakBytes), each engine adding its fixed costs.
template <typename Extra>
uint64_t EstimateJobBytes(const JobSpec& spec, Extra&& extra) {
  uint64_t total = 0, max_lde = 0;
  for (size_t t = 0; t < spec.log_rows.size(); ++t) {
    TableBytes b;
    b.table = &spec.air->tables[t];
    b.shape = stark::ShapeOf(*b.table, spec.air->max_constraint_degree);
    b.n = uint64_t{1} << spec.log_rows[t];
    b.N = b.n << spec.log_blowup;
    total +=
        8 * b.N * (b.table->num_columns + 3 * b.shape.aux_columns + 3 * b.shape.quotient_parts);
    total += 3 * 64 * b.N;
    total += extra(b);
    max_lde = std::max(max_lde, b.N);
  }
  return total + 24 * 2 * max_lde + 64 * max_lde;
}

// Current and peak bytes of a job's buffers; thread-safe.
class MemoryCounter {
 public:
  void Add(uint64_t bytes) {
    const uint64_t now = current_.fetch_add(bytes) + bytes;
    uint64_t p = peak_.load();
    while (now > p && !peak_.compare_exchange_weak(p, now)) {
    }
  }
  void Sub(uint64_t bytes) { current_.fetch_sub(bytes); }
  JobMemory Get() const { return {current_.load(), peak_.load()}; }

 private:
  std::atomic<uint64_t> current_{0}, peak_{0};
};

// The sorted, unique leaves that query positions (in [0, M0)) open in a tree whose leaves
// are 2^group consecutive values of a layer 2^shift times smaller than M0.
inline std::vector<uint64_t> OpenedLeaves(std::span<const uint64_t> positions, int shift,
                                          int group) {
  std::vector<uint64_t> out;
  for (uint64_t u : positions) out.push_back((u >> shift) >> group);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The round order of backend.h: Step(k) succeeds only as the k-th call.
class CallOrder {
 public:
  explicit CallOrder(std::string backend) : backend_(std::move(backend)) {}
  absl::Status Step(int stage) {
    if (stage_ != stage) {
      return absl::FailedPreconditionError(
          absl::StrCat(backend_, " backend: operation ", stage, " called at stage ", stage_));
    }
    ++stage_;
    return absl::OkStatus();
  }
  int stage() const { return stage_; }

 private:
  std::string backend_;
  int stage_ = 0;
};

// The constants of one table's DEEP codeword (docs/PROTOCOL.md section 8): coefficients
// coef[k] = lambda^t delta^k over the m main, a aux and q quotient columns; with T(x) the
// combination of the main and aux columns and Q(x) that of the quotient parts,
//   DEEP(x) = (T + Q - c_z) / (x - z) + shift (T - c_zw) / (x - z w),  shift = delta^(m+a+q).
struct DeepConstants {
  std::vector<Fp3> coef;
  Fp3 c_z, c_zw, shift;
};
inline DeepConstants MakeDeepConstants(size_t m, size_t a, size_t q, const Fp3& lambda_t,
                                       const Fp3& delta, const TableOod& ood) {
  DeepConstants d;
  d.coef.resize(m + a + q);
  for (size_t k = 0; k < d.coef.size(); ++k) d.coef[k] = k == 0 ? lambda_t : d.coef[k - 1] * delta;
  d.c_z = d.c_zw = Fp3::Zero();
  for (size_t k = 0; k < m; ++k) {
    d.c_z += d.coef[k] * ood.main[k];
    d.c_zw += d.coef[k] * ood.main_next[k];
  }
  for (size_t k = 0; k < a; ++k) {
    d.c_z += d.coef[m + k] * ood.aux[k];
    d.c_zw += d.coef[m + k] * ood.aux_next[k];
  }
  for (size_t k = 0; k < q; ++k) d.c_z += d.coef[m + a + k] * ood.quotient[k];
  d.shift = Fp3::One();
  for (size_t k = 0; k < m + a + q; ++k) d.shift *= delta;
  return d;
}

}  // namespace prover::backend
