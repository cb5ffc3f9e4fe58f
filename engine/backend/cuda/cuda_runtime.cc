// The CUDA runtime of runtime.h: libcudart and the kernels' launchers (kernels/launch.h).
// Built only where nvcc is found.
#include <cuda_runtime.h>

#include <cstring>
#include <memory>

#include "engine/backend/cuda/cuda_device.h"
#include "engine/backend/cuda/runtime.h"
#include "kernels/launch.h"

namespace prover::backend::cuda {

// The error codes the engine tells apart are CUDA's own.
static_assert(rt::kSuccess == cudaSuccess);
static_assert(rt::kInvalidValue == cudaErrorInvalidValue);
static_assert(rt::kMemoryAllocation == cudaErrorMemoryAllocation);
static_assert(rt::kDevicesUnavailable == cudaErrorDevicesUnavailable);
static_assert(rt::kNoDevice == cudaErrorNoDevice);
static_assert(rt::kInvalidDevice == cudaErrorInvalidDevice);
static_assert(rt::kEccUncorrectable == cudaErrorECCUncorrectable);
static_assert(rt::kIllegalAddress == cudaErrorIllegalAddress);
static_assert(rt::kLaunchTimeout == cudaErrorLaunchTimeout);
static_assert(rt::kContextIsDestroyed == cudaErrorContextIsDestroyed);
static_assert(rt::kAssert == cudaErrorAssert);
static_assert(rt::kHardwareStackError == cudaErrorHardwareStackError);
static_assert(rt::kIllegalInstruction == cudaErrorIllegalInstruction);
static_assert(rt::kMisalignedAddress == cudaErrorMisalignedAddress);
static_assert(rt::kInvalidAddressSpace == cudaErrorInvalidAddressSpace);
static_assert(rt::kInvalidPc == cudaErrorInvalidPc);
static_assert(rt::kLaunchFailure == cudaErrorLaunchFailure);

namespace {

cudaStream_t S(RtStream s) { return reinterpret_cast<cudaStream_t>(s); }
cudaEvent_t E(RtEvent e) { return reinterpret_cast<cudaEvent_t>(e); }

class CudaRuntimeImpl final : public Runtime {
 public:
  std::string ErrorName(RtError e) const override { return cudaGetErrorName(cudaError_t(e)); }
  std::string ErrorString(RtError e) const override { return cudaGetErrorString(cudaError_t(e)); }
  RtError GetLastError() override { return cudaGetLastError(); }

  RtError GetDeviceCount(int* count) override { return cudaGetDeviceCount(count); }
  RtError GetDevice(int* ordinal) override { return cudaGetDevice(ordinal); }
  RtError SetDevice(int ordinal) override { return cudaSetDevice(ordinal); }
  RtError GetDeviceProperties(GpuInfo* info, int ordinal) override {
    cudaDeviceProp prop;
    std::memset(&prop, 0, sizeof(prop));
    if (cudaError_t e = cudaGetDeviceProperties(&prop, ordinal); e != cudaSuccess) return e;
    *info = {ordinal,    prop.name, prop.totalGlobalMem, prop.multiProcessorCount,
             prop.major, prop.minor};
    return cudaSuccess;
  }
  RtError MemGetInfo(size_t* free_bytes, size_t* total_bytes) override {
    return cudaMemGetInfo(free_bytes, total_bytes);
  }
  RtError ProgramOccupancy(kernels::GridLimits* g) override { return kernels::ProgramOccupancy(g); }

  RtError DefaultPoolKeepingFreed(RtPool* pool, int ordinal) override {
    cudaMemPool_t p = nullptr;
    if (cudaError_t e = cudaDeviceGetDefaultMemPool(&p, ordinal); e != cudaSuccess) return e;
    uint64_t threshold = UINT64_MAX;  // keep freed memory for the next job
    if (cudaError_t e = cudaMemPoolSetAttribute(p, cudaMemPoolAttrReleaseThreshold, &threshold);
        e != cudaSuccess) {
      return e;
    }
    *pool = reinterpret_cast<RtPool>(p);
    return cudaSuccess;
  }
  RtError MallocFromPoolAsync(void** p, size_t bytes, RtPool pool, RtStream s) override {
    return cudaMallocFromPoolAsync(p, bytes, reinterpret_cast<cudaMemPool_t>(pool), S(s));
  }
  RtError FreeAsync(void* p, RtStream s) override { return cudaFreeAsync(p, S(s)); }
  RtError MallocHost(void** p, size_t bytes) override { return cudaMallocHost(p, bytes); }
  RtError FreeHost(void* p) override { return cudaFreeHost(p); }
  RtError MemcpyAsync(void* dst, const void* src, size_t bytes, RtCopy kind, RtStream s) override {
    return cudaMemcpyAsync(
        dst, src, bytes,
        kind == RtCopy::kHostToDevice ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, S(s));
  }
  RtError MemsetAsync(void* dst, int value, size_t bytes, RtStream s) override {
    return cudaMemsetAsync(dst, value, bytes, S(s));
  }

  RtError StreamCreate(RtStream* s) override {
    cudaStream_t st = nullptr;
    const cudaError_t e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    *s = reinterpret_cast<RtStream>(st);
    return e;
  }
  RtError StreamDestroy(RtStream s) override { return cudaStreamDestroy(S(s)); }
  RtError StreamSynchronize(RtStream s) override { return cudaStreamSynchronize(S(s)); }
  RtError EventCreate(RtEvent* e) override {
    cudaEvent_t ev = nullptr;
    const cudaError_t r = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    *e = reinterpret_cast<RtEvent>(ev);
    return r;
  }
  RtError EventDestroy(RtEvent e) override { return cudaEventDestroy(E(e)); }
  RtError EventRecord(RtEvent e, RtStream s) override { return cudaEventRecord(E(e), S(s)); }
  RtError EventSynchronize(RtEvent e) override { return cudaEventSynchronize(E(e)); }

  RtError LaunchPowers(uint64_t* out, Fp base, uint64_t count, RtStream s,
                       uint64_t* launches) override {
    return kernels::LaunchPowers(out, base, count, S(s), launches);
  }
  RtError LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw, int log_tw,
                    RtStream s, uint64_t* launches) override {
    return kernels::LaunchNtt(cols, num_cols, log_n, tw, log_tw, S(s), launches);
  }
  RtError LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                           RtStream s, uint64_t* launches) override {
    return kernels::LaunchBitReverse(cols, num_cols, log_n, scale, S(s), launches);
  }
  RtError LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                       uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows, RtStream s,
                       uint64_t* launches) override {
    return kernels::LaunchSpread(src, dst, scale, num_cols, log_n, log_len, shift_pows, S(s),
                                 launches);
  }
  RtError LaunchMerkle(const kernels::TreeMatrix* matrices, uint32_t num_matrices,
                       const uint64_t* row_prefix, uint64_t total_rows,
                       const kernels::TreeLevel* levels, int log_leaves, uint64_t* nodes,
                       RtStream s, uint64_t* launches) override {
    return kernels::LaunchMerkle(matrices, num_matrices, row_prefix, total_rows, levels, log_leaves,
                                 nodes, S(s), launches);
  }
  RtError LaunchAuxRows(const kernels::AuxTable* tables, uint32_t num_tables,
                        const uint64_t* row_prefix, uint64_t total_rows, uint64_t* scratch,
                        uint32_t base_regs, uint32_t ext_regs, unsigned long long* bad,
                        const kernels::GridLimits& g, RtStream s, uint64_t* launches) override {
    return kernels::LaunchAuxRows(tables, num_tables, row_prefix, total_rows, scratch, base_regs,
                                  ext_regs, bad, g, S(s), launches);
  }
  RtError LaunchSegmentedScan(const kernels::ScanChunk* chunks, uint32_t num_chunks,
                              const kernels::ScanSegment* segments, uint32_t num_segments,
                              uint64_t* chunk_sums, RtStream s, uint64_t* launches) override {
    return kernels::LaunchSegmentedScan(chunks, num_chunks, segments, num_segments, chunk_sums,
                                        S(s), launches);
  }
  RtError LaunchQuotients(const kernels::QuotientTable* tables, uint32_t num_tables,
                          const uint64_t* group_prefix, uint64_t total_groups, uint64_t* scratch,
                          uint32_t base_regs, uint32_t ext_regs, const kernels::GridLimits& g,
                          RtStream s, uint64_t* launches) override {
    return kernels::LaunchQuotients(tables, num_tables, group_prefix, total_groups, scratch,
                                    base_regs, ext_regs, g, S(s), launches);
  }
  RtError LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                        uint64_t end, unsigned long long* flag, RtStream s,
                        uint64_t* launches) override {
    return kernels::LaunchAllZero(cols, num_cols, begin, end, flag, S(s), launches);
  }
  RtError LaunchEvalPolys(const kernels::PolyEval* polys, uint32_t num_polys,
                          const uint64_t* chunk_prefix, uint64_t total_chunks, uint64_t* partials,
                          uint64_t* out, RtStream s, uint64_t* launches) override {
    return kernels::LaunchEvalPolys(polys, num_polys, chunk_prefix, total_chunks, partials, out,
                                    S(s), launches);
  }
  RtError LaunchDeep(const kernels::DeepTable* tables, const kernels::DeepTarget* targets,
                     uint32_t num_targets, const uint64_t* group_prefix, uint64_t total_groups,
                     Fp lde_shift, RtStream s, uint64_t* launches) override {
    return kernels::LaunchDeep(tables, targets, num_targets, group_prefix, total_groups, lde_shift,
                               S(s), launches);
  }
  RtError LaunchFoldTwiddles(uint64_t* out, int log_m, RtStream s, uint64_t* launches) override {
    return kernels::LaunchFoldTwiddles(out, log_m, S(s), launches);
  }
  RtError LaunchFold(const kernels::FoldArgs& args, RtStream s, uint64_t* launches) override {
    return kernels::LaunchFold(args, S(s), launches);
  }
  RtError LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out, RtStream s,
                       uint64_t* launches) override {
    return kernels::LaunchGather(addresses, count, out, S(s), launches);
  }
};

}  // namespace

std::shared_ptr<Runtime> CudaRuntime() {
  static const std::shared_ptr<Runtime> runtime = std::make_shared<CudaRuntimeImpl>();
  return runtime;
}

GpuDiscovery DiscoverGpus() { return DiscoverGpus(*CudaRuntime()); }

absl::StatusOr<std::unique_ptr<CudaBackend>> MakeCudaBackend(int ordinal,
                                                             const GpuOptions& options) {
  return MakeRuntimeBackend(CudaRuntime(), ordinal, options);
}

}  // namespace prover::backend::cuda
