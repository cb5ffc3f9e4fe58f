// The host runtime: the CUDA runtime of runtime.h with host memory for device memory and
// the kernels run on the host's cores, one emulated GPU thread at a time, over the thread
// bodies the CUDA kernels run (kernels/thread_bodies.h) in the launch geometry they use
// (kernels/geometry.h): NTT tiles per block and thread, split where the kernel has its
// barriers; program kernels as the resident grid (ProgramThreads) with their registers in
// the scratch at the GPU's stride; block reduces and scans in the blocks' order. Fresh device
// memory, shared memory and register scratch hold a poison value, never zeros.
//
// It keeps the CUDA runtime's error semantics: a failed call leaves its error as the calling
// thread's last error, which the next launch returns unless it was cleared; a sticky error
// (CudaErrorKind kDeviceLost) fails every later call. Allocations past the device's memory
// fail with cudaErrorMemoryAllocation, and the pool keeps freed memory (its footprint is
// the most it ever held at once).
//
// With the CUDA device (cuda_device.h) over it, CI proves with the CUDA engine's own code,
// launch layer and error paths included, and compares the proofs with the CPU engine's;
// FailCall injects a CUDA error into any call. It is single-threaded per call and slow.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/cuda/cuda_device.h"
#include "engine/backend/cuda/runtime.h"

namespace prover::backend::cuda {

struct HostRuntimeOptions {
  int devices = 1;
  uint64_t memory_bytes = uint64_t{16} << 30;  // each emulated GPU's memory
  // The program kernels' grid: sm_count x blocks_per_sm blocks of kProgramBlock threads
  // (3 x 1: 384 threads, not a power of two).
  int sm_count = 3;
  int blocks_per_sm = 1;
};

class HostRuntime final : public Runtime {
 public:
  explicit HostRuntime(const HostRuntimeOptions& options = {});
  ~HostRuntime() override;

  // Fault injection: the n-th counted call from now (1-based; 0 disarms) fails with `error`
  // without taking effect. Counted: every call that reaches the runtime's work, launches
  // included; not the error queries (ErrorName, ErrorString, GetLastError), a launcher that
  // has nothing to launch (zero items), or a call refused by a sticky error.
  void FailCall(uint64_t n, RtError error);
  uint64_t calls() const { return calls_.load(); }
  bool injected() const { return injected_.load(); }
  // The call that was failed: "cuda" and the Runtime method's name (cudaMallocFromPoolAsync),
  // or the launcher's (LaunchNtt), as the CUDA device names them in its errors.
  std::string injected_call() const;

  // What is held now: device memory (the pool's allocations), pinned host memory, streams
  // and events; and the pool's footprint (device memory it took from the device, in use
  // or kept).
  struct Held {
    uint64_t device_bytes = 0, device_allocations = 0, pinned_bytes = 0;
    uint64_t streams = 0, events = 0, pool_footprint = 0;
  };
  Held held() const;
  // Copies made from each pinned buffer (host to device), in the order the buffers were
  // allocated.
  std::vector<uint64_t> copies_from_pinned() const;

  std::string ErrorName(RtError e) const override;
  std::string ErrorString(RtError e) const override;
  RtError GetLastError() override;

  RtError GetDeviceCount(int* count) override;
  RtError GetDevice(int* ordinal) override;
  RtError SetDevice(int ordinal) override;
  RtError GetDeviceProperties(GpuInfo* info, int ordinal) override;
  RtError MemGetInfo(size_t* free_bytes, size_t* total_bytes) override;
  RtError ProgramOccupancy(kernels::GridLimits* g) override;

  RtError DefaultPoolKeepingFreed(RtPool* pool, int ordinal) override;
  RtError MallocFromPoolAsync(void** p, size_t bytes, RtPool pool, RtStream s) override;
  RtError FreeAsync(void* p, RtStream s) override;
  RtError MallocHost(void** p, size_t bytes) override;
  RtError FreeHost(void* p) override;
  RtError MemcpyAsync(void* dst, const void* src, size_t bytes, RtCopy kind, RtStream s) override;
  RtError MemsetAsync(void* dst, int value, size_t bytes, RtStream s) override;

  RtError StreamCreate(RtStream* s) override;
  RtError StreamDestroy(RtStream s) override;
  RtError StreamSynchronize(RtStream s) override;
  RtError EventCreate(RtEvent* e) override;
  RtError EventDestroy(RtEvent e) override;
  RtError EventRecord(RtEvent e, RtStream s) override;
  RtError EventSynchronize(RtEvent e) override;

  RtError LaunchPowers(uint64_t* out, Fp base, uint64_t count, RtStream s,
                       uint64_t* launches) override;
  RtError LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw, int log_tw,
                    RtStream s, uint64_t* launches) override;
  RtError LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                           RtStream s, uint64_t* launches) override;
  RtError LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                       uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows, RtStream s,
                       uint64_t* launches) override;
  RtError LaunchMerkle(const kernels::TreeMatrix* matrices, uint32_t num_matrices,
                       const uint64_t* row_prefix, uint64_t total_rows,
                       const kernels::TreeLevel* levels, int log_leaves, uint64_t* nodes,
                       RtStream s, uint64_t* launches) override;
  RtError LaunchAuxRows(const kernels::AuxTable* tables, uint32_t num_tables,
                        const uint64_t* row_prefix, uint64_t total_rows, uint64_t* scratch,
                        uint32_t base_regs, uint32_t ext_regs, unsigned long long* bad,
                        const kernels::GridLimits& g, RtStream s, uint64_t* launches) override;
  RtError LaunchSegmentedScan(const kernels::ScanChunk* chunks, uint32_t num_chunks,
                              const kernels::ScanSegment* segments, uint32_t num_segments,
                              uint64_t* chunk_sums, RtStream s, uint64_t* launches) override;
  RtError LaunchQuotients(const kernels::QuotientTable* tables, uint32_t num_tables,
                          const uint64_t* group_prefix, uint64_t total_groups, uint64_t* scratch,
                          uint32_t base_regs, uint32_t ext_regs, const kernels::GridLimits& g,
                          RtStream s, uint64_t* launches) override;
  RtError LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                        uint64_t end, unsigned long long* flag, RtStream s,
                        uint64_t* launches) override;
  RtError LaunchEvalPolys(const kernels::PolyEval* polys, uint32_t num_polys,
                          const uint64_t* chunk_prefix, uint64_t total_chunks, uint64_t* partials,
                          uint64_t* out, RtStream s, uint64_t* launches) override;
  RtError LaunchDeep(const kernels::DeepTable* tables, const kernels::DeepTarget* targets,
                     uint32_t num_targets, const uint64_t* group_prefix, uint64_t total_groups,
                     Fp lde_shift, RtStream s, uint64_t* launches) override;
  RtError LaunchFoldTwiddles(uint64_t* out, int log_m, RtStream s, uint64_t* launches) override;
  RtError LaunchFold(const kernels::FoldArgs& args, RtStream s, uint64_t* launches) override;
  RtError LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out, RtStream s,
                       uint64_t* launches) override;

 private:
  // Every counted call starts here: the sticky error, if any, else the injected failure
  // when this is the call to fail (recorded as the thread's last error), else success.
  RtError Enter(const char* call);
  // A launcher's return, as cudaGetLastError() after the launch: the thread's last error,
  // cleared (an earlier call's unreported failure included).
  RtError LaunchResult();
  RtError Fail(RtError e);  // records e as the last error (and sticky when it is)

  const HostRuntimeOptions options_;
  std::atomic<uint64_t> calls_{0}, fail_at_{0};
  std::atomic<RtError> fail_with_{0}, sticky_{0};
  std::atomic<bool> injected_{false};
  mutable std::mutex mu_;
  std::string injected_call_;
  std::map<void*, uint64_t> device_;  // allocation -> bytes
  std::map<void*, uint64_t> pinned_;
  std::map<void*, uint64_t> pinned_order_, pinned_copies_;  // buffer -> allocation number, copies
  uint64_t device_bytes_ = 0, pool_footprint_ = 0;
  uint64_t streams_ = 0, events_ = 0;
};

// The emulated engine's options: small staging buffers (256 KiB), so that an upload of a
// test's trace crosses both in turn.
GpuOptions EmulatedGpuOptions();

// The CUDA engine over a host runtime of its own (name "cuda-emulated"); `runtime`, when
// not null, receives that runtime (for fault injection and its figures).
std::unique_ptr<CudaBackend> MakeEmulatedCudaBackend(
    std::shared_ptr<HostRuntime>* runtime = nullptr,
    const GpuOptions& options = EmulatedGpuOptions(),
    const HostRuntimeOptions& runtime_options = {});

}  // namespace prover::backend::cuda
