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
uint64_t PhysicalMemoryBytes();

}  // namespace prover::server
