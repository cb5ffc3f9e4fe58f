// The CUDA engine: its device (CudaDevice) and per-GPU context over a Runtime (runtime.h),
// which is the CUDA runtime on a GPU and the host runtime (host_runtime.h) in CI.
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
#include "engine/backend/cuda/runtime.h"
#include "engine/base/failure.h"

namespace prover::backend::cuda {

struct GpuDiscovery {
  std::vector<GpuInfo> gpus;
  std::string unavailable;  // why there are none, when empty
};
// The GPUs of a runtime the engine can use (sm_90 or newer).
GpuDiscovery DiscoverGpus(Runtime& rt);

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
  // A device of this GPU as one job holds it (a stream of the pool until it is destroyed).
  virtual absl::StatusOr<std::unique_ptr<Device>> NewDevice() = 0;
};

// The engine on GPU `ordinal` of `runtime`, named `name` ("cuda:ORDINAL" when empty).
absl::StatusOr<std::unique_ptr<CudaBackend>> MakeRuntimeBackend(std::shared_ptr<Runtime> runtime,
                                                                int ordinal,
                                                                const GpuOptions& options,
                                                                std::string name = "");

// Over the CUDA runtime (libcudart; cuda_runtime.cc, in builds with nvcc only).
std::shared_ptr<Runtime> CudaRuntime();
GpuDiscovery DiscoverGpus();  // DiscoverGpus(*CudaRuntime())
absl::StatusOr<std::unique_ptr<CudaBackend>> MakeCudaBackend(int ordinal,
                                                             const GpuOptions& options);

}  // namespace prover::backend::cuda
