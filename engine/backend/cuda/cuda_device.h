// The CUDA engine on real GPUs.
//
// Per GPU, one GpuContext shared by every job on it: a pool of CUDA streams (one per
// running job), a stream-ordered device memory pool with a byte budget (allocations past
// it fail with RESOURCE_EXHAUSTED; the pool keeps freed memory for the next job instead
// of returning it to the driver), pinned host staging buffers allocated once and reused
// for every trace upload, and the device-side domain cache: twiddles and coset powers
// keyed by (log trace length, log blowup, coset offset), built once and shared by all jobs.
//
// A job's Device (CudaDevice) owns a stream from the pool for its lifetime. CUDA errors
// become absl::Status values naming the file, line, CUDA error name and call.
//
// Discovery: no driver, no GPU, or a GPU the binary has no code for simply gives no
// engines, with the reason (DiscoverGpus).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/backend/backend.h"
#include "engine/backend/cuda/device.h"
#include "engine/base/failure.h"

namespace prover::backend::cuda {

// What a CUDA error (a cudaError_t) means for the engine: out of memory is kResources; an
// error a kernel leaves in its context, after which every later call in this process fails
// (an illegal address, a launch failure, an uncorrectable ECC error), kDeviceLost: the
// service takes the GPU out of service; anything else kDeviceFault.
FailureKind CudaErrorKind(int error);

struct GpuInfo {
  int ordinal = 0;
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  uint64_t total_memory = 0;
  int sm_count = 0;
  int compute_major = 0, compute_minor = 0;
};

struct GpuDiscovery {
  std::vector<GpuInfo> gpus;
  std::string unavailable;  // why there are none, when empty
};
GpuDiscovery DiscoverGpus();

struct GpuOptions {
  uint64_t memory_budget = 0;                   // 0: 90% of the memory free when the context opens
  int streams = 4;                              // concurrent jobs on this GPU
  uint64_t staging_bytes = uint64_t{64} << 20;  // per pinned staging buffer (two)
};

// Live figures of one GPU, for metrics.
struct GpuStats {
  uint64_t memory_budget = 0, memory_in_use = 0, memory_peak = 0, domain_cache_bytes = 0;
  int streams = 0, streams_busy = 0;
  uint64_t bytes_to_device = 0, bytes_to_host = 0, launches = 0;
  uint64_t jobs = 0;
};

class GpuContext;

// A backend proving on one GPU ("cuda:ORDINAL").
class CudaBackend : public Backend {
 public:
  virtual const GpuInfo& gpu() const = 0;
  virtual GpuStats stats() const = 0;
};
absl::StatusOr<std::unique_ptr<CudaBackend>> MakeCudaBackend(int ordinal,
                                                             const GpuOptions& options);

}  // namespace prover::backend::cuda
