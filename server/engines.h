// The engines this process can prove on, discovered at start-up and registered explicitly
// (no static registration). The CPU engine is always there; GPU engines are added when the
// CUDA engine is built and a device answers, and their absence is explained.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/scheduler.h"

namespace prover::server {

struct EngineOptions {
  std::string choice = "auto";    // auto: GPUs then the CPU; cpu: the CPU only; cuda: GPUs only
  uint32_t cpu_jobs = 1;          // jobs at once on the CPU engine
  uint64_t cpu_memory_bytes = 0;  // 0: 80% of physical memory
  uint32_t gpu_jobs = 4;          // jobs at once per GPU (one CUDA stream each)
  uint64_t gpu_memory_bytes = 0;  // per GPU; 0: 90% of its free memory at start-up
};

struct DiscoveredEngines {
  std::vector<std::unique_ptr<Engine>> engines;  // in order of preference
  std::vector<std::string> unavailable;          // "cuda: ..." explanations
};

// INVALID_ARGUMENT for an unknown choice; UNAVAILABLE when `cuda` was asked for and no GPU
// engine can run.
absl::StatusOr<DiscoveredEngines> DiscoverEngines(const EngineOptions& options);

std::unique_ptr<Engine> MakeCpuEngine(uint64_t memory_budget_bytes, uint32_t max_jobs);
// The memory this process may use: the machine's RAM, or less when a cgroup (a container's
// memory limit) says so. The default budgets (engines, verification, uploads) are fractions
// of it, so a container's limit is honoured, not the host's RAM.
uint64_t PhysicalMemoryBytes();

// The smallest memory limit on the path of this process's cgroups, from the text of
// /proc/self/cgroup and the cgroup file systems mounted at `sys_root` (/sys/fs/cgroup):
// cgroup v2 `memory.max`, v1 `memory/.../memory.limit_in_bytes`, each directory from the
// process's own up to the root. UINT64_MAX when none is set.
uint64_t CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& sys_root);

}  // namespace prover::server
