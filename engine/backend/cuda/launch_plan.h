// Host-side planning of the CUDA engine's batched launches (cuda_device.cc): descriptor
// arrays, prefix counts and groupings, the same over either runtime.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/descriptors.h"
#include "kernels/geometry.h"

namespace prover::backend::cuda {

// DEEP: tables adding into the same target run in one thread per group of points, one
// after another, so no two threads ever add into the same value. `tables` sorted by target
// (stable), the targets in that order, and per target the running count of its threads
// (PointThreads; targets.size() + 1 values, from 0).
struct DeepPlan {
  std::vector<kernels::DeepTable> tables;
  std::vector<kernels::DeepTarget> targets;
  std::vector<uint64_t> group_prefix;
};

inline DeepPlan PlanDeep(std::span<const kernels::DeepTable> tables) {
  DeepPlan plan;
  plan.tables.assign(tables.begin(), tables.end());
  std::stable_sort(
      plan.tables.begin(), plan.tables.end(),
      [](const kernels::DeepTable& a, const kernels::DeepTable& b) { return a.target < b.target; });
  plan.group_prefix.push_back(0);
  for (uint32_t j = 0; j < plan.tables.size(); ++j) {
    const kernels::DeepTable& d = plan.tables[j];
    if (plan.targets.empty() || plan.targets.back().target != d.target) {
      plan.targets.push_back({j, 0, d.log_N, d.target});
      const uint64_t N = uint64_t{1} << d.log_N;
      plan.group_prefix.push_back(plan.group_prefix.back() + kernels::PointThreads(N));
    }
    ++plan.targets.back().count;
  }
  return plan;
}

// Round 2: one thread per row of every table (row_prefix: T + 1 running row counts), the
// widest register files, and the running sums' segmented scan: one segment per table and
// base coordinate of its sum column, cut into chunks of at most kScanChunk values.
struct AuxPlan {
  std::vector<uint64_t> row_prefix;
  uint32_t base_regs = 1, ext_regs = 1;
  std::vector<kernels::ScanChunk> chunks;
  std::vector<kernels::ScanSegment> segments;
};

inline AuxPlan PlanAux(std::span<const kernels::AuxTable> tables) {
  AuxPlan plan;
  plan.row_prefix.assign(tables.size() + 1, 0);
  for (size_t t = 0; t < tables.size(); ++t) {
    const kernels::AuxTable& a = tables[t];
    const uint64_t n = uint64_t{1} << a.log_n;
    plan.row_prefix[t + 1] = plan.row_prefix[t] + n;
    plan.base_regs = std::max(plan.base_regs, a.prog.program.num_base_regs);
    plan.ext_regs = std::max(plan.ext_regs, a.prog.program.num_ext_regs);
    const uint64_t s_col = 3 * (a.prog.logup.num_groups - 1);
    const uint64_t inv_n = Fp::FromU64(n).Inverse().value();
    for (int c = 0; c < 3; ++c) {
      uint64_t* col = a.aux + (s_col + c) * n;
      kernels::ScanSegment seg{uint32_t(plan.chunks.size()), 0, inv_n, a.sum + c};
      for (uint64_t b = 0; b < n; b += kernels::kScanChunk) {
        plan.chunks.push_back({col + b, std::min<uint64_t>(kernels::kScanChunk, n - b), b,
                               uint32_t(plan.segments.size())});
        ++seg.num_chunks;
      }
      plan.segments.push_back(seg);
    }
  }
  return plan;
}

// Merkle trees of one call: the leaves of every tree in one launch, then one launch per
// level over every tree's parents of that level. leaf_prefix: T + 1 running row counts;
// level_prefix: such an array per level (levels of them, one after the other); totals: the
// items of each level's launch.
struct MerklePlan {
  std::vector<kernels::TreeMatrix> matrices;  // tallest first, the given order within a height
  std::vector<uint64_t> row_prefix;           // matrices.size() + 1 running row counts
  std::vector<kernels::TreeLevel> levels;     // log_leaves + 1 entries, by log2 of a level's nodes
  int log_leaves = 0;
};

// The launches of one tree over `matrices` (in the tree's order, heights powers of two)
// into `nodes` (2H digests). A matrix without digests must be the only one of the tallest
// height: its row digests are the bottom level, nodes + 4H. INVALID_ARGUMENT otherwise.
inline absl::StatusOr<MerklePlan> PlanMerkle(std::span<const kernels::TreeMatrix> matrices,
                                             uint64_t* nodes) {
  MerklePlan plan;
  plan.matrices.assign(matrices.begin(), matrices.end());
  std::stable_sort(plan.matrices.begin(), plan.matrices.end(),
                   [](const auto& a, const auto& b) { return a.rows > b.rows; });
  if (plan.matrices.empty()) return absl::InvalidArgumentError("merkle: no matrices");
  const uint64_t h = plan.matrices[0].rows;
  while ((uint64_t{1} << plan.log_leaves) < h) ++plan.log_leaves;
  plan.levels.assign(size_t(plan.log_leaves) + 1, kernels::TreeLevel{});
  plan.row_prefix.assign(plan.matrices.size() + 1, 0);
  for (size_t m = 0; m < plan.matrices.size(); ++m) {
    kernels::TreeMatrix& mat = plan.matrices[m];
    int l = 0;
    while ((uint64_t{1} << l) < mat.rows) ++l;
    if (mat.rows == 0 || (uint64_t{1} << l) != mat.rows) {
      return absl::InvalidArgumentError("merkle: a matrix height is not a power of two");
    }
    kernels::TreeLevel& level = plan.levels[size_t(l)];
    if (level.count == 0) level.first = uint32_t(m);
    ++level.count;
    plan.row_prefix[m + 1] = plan.row_prefix[m] + mat.rows;
  }
  for (kernels::TreeMatrix& mat : plan.matrices) {
    if (mat.digests != nullptr) continue;
    if (mat.rows != h || plan.levels[size_t(plan.log_leaves)].count != 1) {
      return absl::InvalidArgumentError("merkle: a matrix without room for its row digests");
    }
    mat.digests = nodes + 4 * h;
  }
  return plan;
}

// Round 3: the threads of every table (prefix: T + 1 running counts of PointThreads) and
// the widest register files, which every thread's scratch is sized for.
struct QuotientPlan {
  std::vector<uint64_t> prefix;
  uint32_t base_regs = 1, ext_regs = 1;
};

inline QuotientPlan PlanQuotients(std::span<const kernels::QuotientTable> tables) {
  QuotientPlan plan;
  plan.prefix.assign(tables.size() + 1, 0);
  for (size_t t = 0; t < tables.size(); ++t) {
    plan.prefix[t + 1] = plan.prefix[t] + kernels::PointThreads(uint64_t{1} << tables[t].log_e);
    plan.base_regs = std::max(plan.base_regs, tables[t].prog.program.num_base_regs);
    plan.ext_regs = std::max(plan.ext_regs, tables[t].prog.program.num_ext_regs);
  }
  return plan;
}

}  // namespace prover::backend::cuda
