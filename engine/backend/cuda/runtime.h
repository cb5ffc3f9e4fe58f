// The CUDA runtime as the CUDA engine's device (cuda_device.cc) uses it: the calls it makes,
// named and shaped as in the CUDA Runtime API, and the kernels' launchers
// (kernels/launch.h). Two implementations:
//   * the real one (cuda_runtime.cc, built only with nvcc): each call forwards to libcudart
//     or to a launcher in kernels/*.cu;
//   * the host runtime (host_runtime.h): device memory is host memory, streams run their
//     work at once, and each kernel runs on the host over the same thread bodies
//     (kernels/thread_bodies.h) in the real launch geometry. It keeps CUDA's error
//     semantics (a failed call leaves its error as the thread's last error, which the next
//     launch reports unless cleared; a sticky error fails every later call) and can fail
//     any call, so that CI runs cuda_device.cc itself, error paths included, without a GPU.
//
// Errors are cudaError_t values (RtError); the few the engine tells apart are named below,
// and the real runtime checks them against cuda_runtime.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/base/failure.h"
#include "engine/field/goldilocks.h"
#include "kernels/descriptors.h"
#include "kernels/geometry.h"

namespace prover::backend::cuda {

using RtError = int;  // a cudaError_t
namespace rt {
inline constexpr RtError kSuccess = 0;
inline constexpr RtError kInvalidValue = 1;
inline constexpr RtError kMemoryAllocation = 2;
inline constexpr RtError kDevicesUnavailable = 46;
inline constexpr RtError kNoDevice = 100;
inline constexpr RtError kInvalidDevice = 101;
inline constexpr RtError kEccUncorrectable = 214;
inline constexpr RtError kIllegalAddress = 700;
inline constexpr RtError kLaunchTimeout = 702;
inline constexpr RtError kContextIsDestroyed = 709;
inline constexpr RtError kAssert = 710;
inline constexpr RtError kHardwareStackError = 714;
inline constexpr RtError kIllegalInstruction = 715;
inline constexpr RtError kMisalignedAddress = 716;
inline constexpr RtError kInvalidAddressSpace = 717;
inline constexpr RtError kInvalidPc = 718;
inline constexpr RtError kLaunchFailure = 719;
}  // namespace rt

// Errors a kernel leaves in its context, after which every later call in this process
// fails with them (the CUDA Runtime API's "sticky" errors: an illegal address, a launch
// failure, an uncorrectable ECC error, ...).
bool IsStickyCudaError(RtError error);

// What a CUDA error means for the engine: out of memory is kResources; a sticky error, or
// a device another process holds (cudaErrorDevicesUnavailable), kDeviceLost: the service
// takes the GPU out of service; anything else kDeviceFault.
FailureKind CudaErrorKind(RtError error);

struct GpuInfo {
  int ordinal = 0;
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  uint64_t total_memory = 0;
  int sm_count = 0;
  int compute_major = 0, compute_minor = 0;
};

// Opaque handles (cudaStream_t, cudaEvent_t, cudaMemPool_t).
struct RtStreamHandle;
struct RtEventHandle;
struct RtPoolHandle;
using RtStream = RtStreamHandle*;
using RtEvent = RtEventHandle*;
using RtPool = RtPoolHandle*;

enum class RtCopy { kHostToDevice, kDeviceToHost };

class Runtime {
 public:
  virtual ~Runtime() = default;

  // cudaGetErrorName, cudaGetErrorString, cudaGetLastError (returns and clears the calling
  // thread's last error; a sticky error is never cleared).
  virtual std::string ErrorName(RtError e) const = 0;
  virtual std::string ErrorString(RtError e) const = 0;
  virtual RtError GetLastError() = 0;

  // Devices (the current device is per host thread).
  virtual RtError GetDeviceCount(int* count) = 0;
  virtual RtError GetDevice(int* ordinal) = 0;
  virtual RtError SetDevice(int ordinal) = 0;
  virtual RtError GetDeviceProperties(GpuInfo* info, int ordinal) = 0;
  virtual RtError MemGetInfo(size_t* free_bytes, size_t* total_bytes) = 0;
  // kernels::ProgramOccupancy on the current device.
  virtual RtError ProgramOccupancy(kernels::GridLimits* g) = 0;

  // Memory: the device's default pool set to keep freed memory (cudaDeviceGetDefaultMemPool
  // + cudaMemPoolAttrReleaseThreshold), cudaMallocFromPoolAsync/cudaFreeAsync, pinned host
  // memory, async copies and memset.
  virtual RtError DefaultPoolKeepingFreed(RtPool* pool, int ordinal) = 0;
  virtual RtError MallocFromPoolAsync(void** p, size_t bytes, RtPool pool, RtStream s) = 0;
  virtual RtError FreeAsync(void* p, RtStream s) = 0;
  virtual RtError MallocHost(void** p, size_t bytes) = 0;
  virtual RtError FreeHost(void* p) = 0;
  virtual RtError MemcpyAsync(void* dst, const void* src, size_t bytes, RtCopy kind,
                              RtStream s) = 0;
  virtual RtError MemsetAsync(void* dst, int value, size_t bytes, RtStream s) = 0;

  // Non-blocking streams and events without timing.
  virtual RtError StreamCreate(RtStream* s) = 0;
  virtual RtError StreamDestroy(RtStream s) = 0;
  virtual RtError StreamSynchronize(RtStream s) = 0;
  virtual RtError EventCreate(RtEvent* e) = 0;
  virtual RtError EventDestroy(RtEvent e) = 0;
  virtual RtError EventRecord(RtEvent e, RtStream s) = 0;
  virtual RtError EventSynchronize(RtEvent e) = 0;

  // The launchers of kernels/launch.h (arguments and meaning there).
  virtual RtError LaunchPowers(uint64_t* out, Fp base, uint64_t count, RtStream s,
                               uint64_t* launches) = 0;
  virtual RtError LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw,
                            int log_tw, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                                   RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                               uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows,
                               RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchMerkle(const kernels::TreeMatrix* matrices, uint32_t num_matrices,
                               const uint64_t* row_prefix, uint64_t total_rows,
                               const kernels::TreeLevel* levels, int log_leaves, uint64_t* nodes,
                               RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchAuxRows(const kernels::AuxTable* tables, uint32_t num_tables,
                                const uint64_t* row_prefix, uint64_t total_rows, uint64_t* scratch,
                                uint32_t base_regs, uint32_t ext_regs, unsigned long long* bad,
                                const kernels::GridLimits& g, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchSegmentedScan(const kernels::ScanChunk* chunks, uint32_t num_chunks,
                                      const kernels::ScanSegment* segments, uint32_t num_segments,
                                      uint64_t* chunk_sums, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchQuotients(const kernels::QuotientTable* tables, uint32_t num_tables,
                                  const uint64_t* group_prefix, uint64_t total_groups,
                                  uint64_t* scratch, uint32_t base_regs, uint32_t ext_regs,
                                  const kernels::GridLimits& g, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                                uint64_t end, unsigned long long* flag, RtStream s,
                                uint64_t* launches) = 0;
  virtual RtError LaunchEvalPolys(const kernels::PolyEval* polys, uint32_t num_polys,
                                  const uint64_t* chunk_prefix, uint64_t total_chunks,
                                  uint64_t* partials, uint64_t* out, RtStream s,
                                  uint64_t* launches) = 0;
  virtual RtError LaunchDeep(const kernels::DeepTable* tables, const kernels::DeepTarget* targets,
                             uint32_t num_targets, const uint64_t* group_prefix,
                             uint64_t total_groups, Fp lde_shift, RtStream s,
                             uint64_t* launches) = 0;
  virtual RtError LaunchFoldTwiddles(uint64_t* out, int log_m, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchFold(const kernels::FoldArgs& args, RtStream s, uint64_t* launches) = 0;
  virtual RtError LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out,
                               RtStream s, uint64_t* launches) = 0;
};

}  // namespace prover::backend::cuda
