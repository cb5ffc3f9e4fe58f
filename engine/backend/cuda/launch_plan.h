// Host-side planning of the CUDA engine's batched launches, shared by the CUDA device
// (cuda_device.cc) and the emulated device (emulated_device.cc), so that CI runs the same
// grouping the GPU gets.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

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

}  // namespace prover::backend::cuda
