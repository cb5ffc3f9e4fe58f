// The CUDA engine's kernels: thin launch loops around the per-element bodies of
// kernels/bodies.h and kernels/program.h (the host tests run the same bodies).
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/geometry.h"
#include "kernels/launch.h"
#include "kernels/thread_bodies.h"

namespace prover::kernels {
namespace {

__device__ __forceinline__ uint64_t GlobalThread() {
  return uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ uint64_t GridThreads() { return uint64_t{gridDim.x} * blockDim.x; }

void Count(uint64_t* launches, uint64_t k = 1) {
  if (launches != nullptr) *launches += k;
}

struct FpAdd {
  __device__ Fp operator()(const Fp& a, const Fp& b) const { return a + b; }
};

// ----------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kBlock) PowersKernel(uint64_t* out, Fp base, uint64_t count) {
  for (uint64_t j = GlobalThread(); j < count; j += GridThreads()) PowerItem(out, base, j);
}

__global__ void __launch_bounds__(kNttBlock)
    NttPassKernel(uint64_t* const* cols, NttPass p, const Fp* tw, int log_tw) {
  __shared__ uint64_t shared[uint64_t{1} << kNttTileBits];
  uint64_t* col = cols[blockIdx.y];
  for (uint64_t tile = blockIdx.x; tile < p.tiles(); tile += gridDim.x) {
    NttTileLoad(p, col, tile, threadIdx.x, blockDim.x, shared);
    __syncthreads();
    for (int t = 0; t < p.stages; ++t) {
      NttTileStage(p, tile, t, threadIdx.x, blockDim.x, shared, tw, log_tw);
      __syncthreads();
    }
    NttTileStore(p, col, tile, threadIdx.x, blockDim.x, shared);
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kBlock)
    BitReverseKernel(uint64_t* const* cols, int log_n, Fp scale) {
  uint64_t* col = cols[blockIdx.y];
  const uint64_t n = uint64_t{1} << log_n;
  for (uint64_t i = GlobalThread(); i < n; i += GridThreads()) BitReverseItem(col, log_n, scale, i);
}

__global__ void __launch_bounds__(kBlock)
    SpreadKernel(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale, int log_n,
                 int log_len, const Fp* shift_pows) {
  const uint32_t c = blockIdx.y;
  const uint64_t len = uint64_t{1} << log_len;
  for (uint64_t k = GlobalThread(); k < len; k += GridThreads())
    SpreadItem(src[c], dst[c], scale[c], log_n, shift_pows, k);
}

// ----------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kHashBlock)
    MerkleRowsKernel(const TreeMatrix* matrices, uint32_t num_matrices, const uint64_t* prefix,
                     uint64_t total) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    MerkleRowThread(matrices, num_matrices, prefix, g);
  }
}

__global__ void __launch_bounds__(kHashBlock)
    MerkleLevelKernel(const TreeMatrix* matrices, TreeLevel level, uint64_t* nodes, int log_level,
                      bool children) {
  const uint64_t total = uint64_t{1} << log_level;
  for (uint64_t i = GlobalThread(); i < total; i += GridThreads()) {
    MerkleLevelThread(matrices, level, nodes, log_level, children, i);
  }
}

// ----------------------------------------------------------------------------------------
__device__ RegisterFile ThreadRegisters(uint64_t* scratch, uint32_t base_regs, uint64_t threads) {
  return ThreadRegisterFile(scratch, base_regs, threads, GlobalThread());
}

__global__ void __launch_bounds__(kProgramBlock)
    AuxRowsKernel(const AuxTable* tables, uint32_t num_tables, const uint64_t* prefix,
                  uint64_t total, uint64_t* scratch, uint32_t base_regs, unsigned long long* bad) {
  const RegisterFile regs = ThreadRegisters(scratch, base_regs, GridThreads());
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_tables, g);
    AuxRowThread(tables[t], t, g - prefix[t], regs, [&](uint32_t table, uint64_t row) {
      atomicMin(bad, (static_cast<unsigned long long>(table) << 40) | row);
    });
  }
}

// Chunk totals, then per segment an exclusive scan of its chunk totals (and the segment's
// total), then each chunk scanned exclusively with its offset and less i * total / n.
__global__ void __launch_bounds__(kBlock)
    ScanReduceKernel(const ScanChunk* chunks, uint64_t* sums) {
  using Reduce = cub::BlockReduce<Fp, kBlock>;
  __shared__ typename Reduce::TempStorage tmp;
  const Fp share = ScanChunkShare(chunks[blockIdx.x], threadIdx.x, blockDim.x);
  const Fp total = Reduce(tmp).Reduce(share, FpAdd());
  if (threadIdx.x == 0) sums[blockIdx.x] = total.value();
}

__global__ void __launch_bounds__(kScanOffsetsBlock)
    ScanOffsetsKernel(const ScanSegment* segments, uint32_t num_segments, uint64_t* sums) {
  for (uint64_t s = GlobalThread(); s < num_segments; s += GridThreads()) {
    ScanSegmentOffsets(segments[s], sums);
  }
}

__global__ void __launch_bounds__(kBlock)
    ScanChunksKernel(const ScanChunk* chunks, const ScanSegment* segments,
                     const uint64_t* offsets) {
  using Scan = cub::BlockScan<Fp, kBlock>;
  __shared__ typename Scan::TempStorage tmp;
  const ScanChunk c = chunks[blockIdx.x];
  Fp items[kScanItems];
  ScanChunkLoad(c, threadIdx.x, items);
  Scan(tmp).ExclusiveScan(items, items, Fp::Zero(), FpAdd());
  ScanChunkStore(c, segments[c.segment], Fp::FromCanonical(offsets[blockIdx.x]), threadIdx.x,
                 items);
}

// ----------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kProgramBlock)
    QuotientsKernel(const QuotientTable* tables, uint32_t num_tables, const uint64_t* prefix,
                    uint64_t total, uint64_t* scratch, uint32_t base_regs) {
  const RegisterFile regs = ThreadRegisters(scratch, base_regs, GridThreads());
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_tables, g);
    QuotientPoints(tables[t], g - prefix[t], regs);
  }
}

__global__ void __launch_bounds__(kBlock) AllZeroKernel(const uint64_t* const* cols, uint64_t begin,
                                                        uint64_t end, unsigned long long* flag) {
  const uint64_t* col = cols[blockIdx.y];
  for (uint64_t i = begin + GlobalThread(); i < end; i += GridThreads()) {
    if (col[i] != 0) atomicOr(flag, 1ull);
  }
}

// ----------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kPointsBlock)
    EvalChunksKernel(const PolyEval* polys, uint32_t num_polys, const uint64_t* prefix,
                     uint64_t total, uint64_t* partials) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads())
    EvalChunkItem(polys, num_polys, prefix, partials, g);
}

__global__ void __launch_bounds__(kBlock)
    EvalSumKernel(const uint64_t* prefix, const uint64_t* partials, uint64_t* out) {
  using Reduce = cub::BlockReduce<Fp, kBlock>;
  __shared__ typename Reduce::TempStorage tmp;
  const uint32_t k = blockIdx.x;
  Fp acc[3] = {Fp::Zero(), Fp::Zero(), Fp::Zero()};
  for (uint64_t g = prefix[k] + threadIdx.x; g < prefix[k + 1]; g += blockDim.x) {
    for (int c = 0; c < 3; ++c) acc[c] += Fp::FromCanonical(partials[3 * g + c]);
  }
  for (int c = 0; c < 3; ++c) {
    const Fp total = Reduce(tmp).Reduce(acc[c], FpAdd());
    if (threadIdx.x == 0) out[3 * k + c] = total.value();
    __syncthreads();
  }
}

// ----------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kPointsBlock)
    DeepKernel(const DeepTable* tables, const DeepTarget* targets, uint32_t num_targets,
               const uint64_t* prefix, uint64_t total, Fp lde_shift) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t ti = FindSegment(prefix, num_targets, g);
    DeepPoints(tables, targets[ti], g - prefix[ti], lde_shift);
  }
}

__global__ void __launch_bounds__(kBlock) FoldTwiddlesKernel(uint64_t* out, int log_m) {
  const uint64_t half = log_m == 0 ? 1 : uint64_t{1} << (log_m - 1);
  const Fp w_inv = Fp::RootOfUnity(log_m).Inverse();
  for (uint64_t c = GlobalThread(); c < half; c += GridThreads())
    FoldTwiddleItem(out, w_inv, log_m, c);
}

// One kernel per arity, so that a group's values stay in registers.
template <int kLogA>
__global__ void __launch_bounds__(kBlock) FoldKernel(FoldArgs f) {
  for (uint64_t c = GlobalThread(); c < f.groups; c += GridThreads()) FoldPoint<kLogA>(f, c);
}

__global__ void __launch_bounds__(kBlock)
    GatherKernel(const uint64_t* const* addresses, uint64_t count, uint64_t* out) {
  for (uint64_t i = GlobalThread(); i < count; i += GridThreads()) out[i] = *addresses[i];
}

}  // namespace

// ------------------------------------------------------------------------------------------
cudaError_t LaunchPowers(uint64_t* out, Fp base, uint64_t count, cudaStream_t stream,
                         uint64_t* launches) {
  PowersKernel<<<BlocksFor(count), kBlock, 0, stream>>>(out, base, count);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw, int log_tw,
                      cudaStream_t stream, uint64_t* launches) {
  if (log_n == 0 || num_cols == 0) return cudaSuccess;
  NttPass passes[8];
  const int count = PlanNtt(log_n, passes);
  for (int i = 0; i < count; ++i) {
    const NttPassGeometry g = NttPassLaunch(passes[i]);
    for (uint32_t k = 0; k < NumColumnSlices(num_cols); ++k) {
      const ColumnSlice slice = ColumnSliceAt(num_cols, k);
      NttPassKernel<<<dim3(g.blocks, slice.count), g.threads, 0, stream>>>(cols + slice.first,
                                                                           passes[i], tw, log_tw);
      Count(launches);
      if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    }
  }
  return cudaSuccess;
}

cudaError_t LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                             cudaStream_t stream, uint64_t* launches) {
  for (uint32_t k = 0; k < NumColumnSlices(num_cols); ++k) {
    const ColumnSlice slice = ColumnSliceAt(num_cols, k);
    const dim3 grid(BlocksFor(uint64_t{1} << log_n, kBlock, 4096), slice.count);
    BitReverseKernel<<<grid, kBlock, 0, stream>>>(cols + slice.first, log_n, scale);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                         uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows,
                         cudaStream_t stream, uint64_t* launches) {
  for (uint32_t k = 0; k < NumColumnSlices(num_cols); ++k) {
    const ColumnSlice slice = ColumnSliceAt(num_cols, k);
    const dim3 grid(BlocksFor(uint64_t{1} << log_len, kBlock, 4096), slice.count);
    SpreadKernel<<<grid, kBlock, 0, stream>>>(src + slice.first, dst + slice.first,
                                              scale + slice.first, log_n, log_len, shift_pows);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t LaunchMerkle(const TreeMatrix* matrices, uint32_t num_matrices,
                         const uint64_t* row_prefix, uint64_t total_rows, const TreeLevel* levels,
                         int log_leaves, uint64_t* nodes, cudaStream_t stream, uint64_t* launches) {
  if (num_matrices == 0) return cudaSuccess;
  // Row hashing holds a 25-lane state per thread: 128 threads keep it in registers.
  MerkleRowsKernel<<<BlocksFor(total_rows, kHashBlock), kHashBlock, 0, stream>>>(
      matrices, num_matrices, row_prefix, total_rows);
  Count(launches);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  for (int l = log_leaves; l >= 0; --l) {
    const bool children = l < log_leaves;
    if (!children && levels[l].count < 2) continue;  // a sole matrix hashed into the bottom
    const uint64_t total = uint64_t{1} << l;
    MerkleLevelKernel<<<BlocksFor(total, kHashBlock), kHashBlock, 0, stream>>>(matrices, levels[l],
                                                                               nodes, l, children);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t ProgramOccupancy(GridLimits* g) {
  int aux = 0, quotient = 0;
  if (cudaError_t e =
          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&aux, AuxRowsKernel, kProgramBlock, 0);
      e != cudaSuccess) {
    return e;
  }
  if (cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&quotient, QuotientsKernel,
                                                                    kProgramBlock, 0);
      e != cudaSuccess) {
    return e;
  }
  auto clamp = [](int blocks) {
    return blocks < 1 ? 1 : (blocks > kMaxProgramBlocksPerSm ? kMaxProgramBlocksPerSm : blocks);
  };
  g->aux_blocks_per_sm = clamp(aux);
  g->quotient_blocks_per_sm = clamp(quotient);
  return cudaSuccess;
}

cudaError_t LaunchAuxRows(const AuxTable* tables, uint32_t num_tables, const uint64_t* row_prefix,
                          uint64_t total_rows, uint64_t* scratch, uint32_t base_regs,
                          uint32_t /*ext_regs*/, unsigned long long* bad, const GridLimits& g,
                          cudaStream_t stream, uint64_t* launches) {
  const unsigned blocks =
      static_cast<unsigned>(ProgramThreads(g, ProgramKernel::kAuxRows) / kProgramBlock);
  AuxRowsKernel<<<blocks, kProgramBlock, 0, stream>>>(tables, num_tables, row_prefix, total_rows,
                                                      scratch, base_regs, bad);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchSegmentedScan(const ScanChunk* chunks, uint32_t num_chunks,
                                const ScanSegment* segments, uint32_t num_segments,
                                uint64_t* chunk_sums, cudaStream_t stream, uint64_t* launches) {
  if (num_chunks == 0) return cudaSuccess;
  ScanReduceKernel<<<num_chunks, kBlock, 0, stream>>>(chunks, chunk_sums);
  ScanOffsetsKernel<<<BlocksFor(num_segments, kScanOffsetsBlock), kScanOffsetsBlock, 0, stream>>>(
      segments, num_segments, chunk_sums);
  ScanChunksKernel<<<num_chunks, kBlock, 0, stream>>>(chunks, segments, chunk_sums);
  Count(launches, 3);
  return cudaGetLastError();
}

cudaError_t LaunchQuotients(const QuotientTable* tables, uint32_t num_tables,
                            const uint64_t* group_prefix, uint64_t total_groups, uint64_t* scratch,
                            uint32_t base_regs, uint32_t /*ext_regs*/, const GridLimits& g,
                            cudaStream_t stream, uint64_t* launches) {
  const unsigned blocks =
      static_cast<unsigned>(ProgramThreads(g, ProgramKernel::kQuotients) / kProgramBlock);
  QuotientsKernel<<<blocks, kProgramBlock, 0, stream>>>(tables, num_tables, group_prefix,
                                                        total_groups, scratch, base_regs);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                          uint64_t end, unsigned long long* flag, cudaStream_t stream,
                          uint64_t* launches) {
  if (end <= begin) return cudaSuccess;
  for (uint32_t k = 0; k < NumColumnSlices(num_cols); ++k) {
    const ColumnSlice slice = ColumnSliceAt(num_cols, k);
    const dim3 grid(BlocksFor(end - begin, kBlock, 4096), slice.count);
    AllZeroKernel<<<grid, kBlock, 0, stream>>>(cols + slice.first, begin, end, flag);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t LaunchEvalPolys(const PolyEval* polys, uint32_t num_polys, const uint64_t* chunk_prefix,
                            uint64_t total_chunks, uint64_t* partials, uint64_t* out,
                            cudaStream_t stream, uint64_t* launches) {
  if (num_polys == 0) return cudaSuccess;
  EvalChunksKernel<<<BlocksFor(total_chunks, kPointsBlock), kPointsBlock, 0, stream>>>(
      polys, num_polys, chunk_prefix, total_chunks, partials);
  EvalSumKernel<<<num_polys, kBlock, 0, stream>>>(chunk_prefix, partials, out);
  Count(launches, 2);
  return cudaGetLastError();
}

cudaError_t LaunchDeep(const DeepTable* tables, const DeepTarget* targets, uint32_t num_targets,
                       const uint64_t* group_prefix, uint64_t total_groups, Fp lde_shift,
                       cudaStream_t stream, uint64_t* launches) {
  if (num_targets == 0) return cudaSuccess;
  DeepKernel<<<BlocksFor(total_groups, kPointsBlock), kPointsBlock, 0, stream>>>(
      tables, targets, num_targets, group_prefix, total_groups, lde_shift);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchFoldTwiddles(uint64_t* out, int log_m, cudaStream_t stream, uint64_t* launches) {
  FoldTwiddlesKernel<<<BlocksFor(log_m == 0 ? 1 : uint64_t{1} << (log_m - 1)), kBlock, 0, stream>>>(
      out, log_m);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchFold(const FoldArgs& args, cudaStream_t stream, uint64_t* launches) {
  const unsigned blocks = BlocksFor(args.groups);
  const bool launched = WithFoldLogArity(args.log_a, [&](auto log_a) {
    FoldKernel<decltype(log_a)::value><<<blocks, kBlock, 0, stream>>>(args);
  });
  if (!launched) return cudaErrorInvalidValue;
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out,
                         cudaStream_t stream, uint64_t* launches) {
  if (count == 0) return cudaSuccess;
  GatherKernel<<<BlocksFor(count), kBlock, 0, stream>>>(addresses, count, out);
  Count(launches);
  return cudaGetLastError();
}

}  // namespace prover::kernels
