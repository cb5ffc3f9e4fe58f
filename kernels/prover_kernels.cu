// The CUDA engine's kernels: thin launch loops around the per-element bodies of
// kernels/bodies.h and kernels/program.h (the host tests run the same bodies).
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/launch.h"

namespace prover::kernels {
namespace {

constexpr unsigned kBlock = 256;

__device__ __forceinline__ uint64_t GlobalThread() {
  return uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ uint64_t GridThreads() { return uint64_t{gridDim.x} * blockDim.x; }

unsigned BlocksFor(uint64_t items, unsigned block = kBlock, uint64_t cap = 1u << 20) {
  uint64_t b = (items + block - 1) / block;
  if (b == 0) b = 1;
  return static_cast<unsigned>(b < cap ? b : cap);
}

void Count(uint64_t* launches, uint64_t k = 1) {
  if (launches != nullptr) *launches += k;
}

// Index of the segment holding item g: the last s with prefix[s] <= g.
__device__ uint32_t FindSegment(const uint64_t* prefix, uint32_t count, uint64_t g) {
  uint32_t lo = 0, hi = count;  // prefix[lo] <= g < prefix[hi]
  while (hi - lo > 1) {
    const uint32_t mid = (lo + hi) / 2;
    if (prefix[mid] <= g) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

struct FpAdd {
  __device__ Fp operator()(const Fp& a, const Fp& b) const { return a + b; }
};

// ----------------------------------------------------------------------------------------
__global__ void PowersKernel(uint64_t* out, Fp base, uint64_t count) {
  for (uint64_t j = GlobalThread(); j < count; j += GridThreads()) out[j] = base.Pow(j).value();
}

__global__ void NttPassKernel(uint64_t* const* cols, NttPass p, const Fp* tw, int log_tw) {
  __shared__ uint64_t raw[uint64_t{1} << kNttTileBits];
  Fp* sh = reinterpret_cast<Fp*>(raw);
  uint64_t* col = cols[blockIdx.y];
  const uint64_t elems = p.tile_elems();
  for (uint64_t tile = blockIdx.x; tile < p.tiles(); tile += gridDim.x) {
    for (uint64_t e = threadIdx.x; e < elems; e += blockDim.x)
      raw[e] = col[NttTileIndex(p, tile, e)];
    __syncthreads();
    for (int t = 0; t < p.stages; ++t) {
      for (uint64_t u = threadIdx.x; u < elems / 2; u += blockDim.x)
        NttTileButterfly(p, tile, t, u, sh, tw, log_tw);
      __syncthreads();
    }
    for (uint64_t e = threadIdx.x; e < elems; e += blockDim.x)
      col[NttTileIndex(p, tile, e)] = raw[e];
    __syncthreads();
  }
}

__global__ void BitReverseKernel(uint64_t* const* cols, int log_n, Fp scale) {
  uint64_t* col = cols[blockIdx.y];
  const uint64_t n = uint64_t{1} << log_n;
  for (uint64_t i = GlobalThread(); i < n; i += GridThreads()) {
    const uint64_t j = BitRev(i, log_n);
    if (i > j) continue;
    const Fp a = Fp::FromCanonical(col[i]) * scale;
    const Fp b = Fp::FromCanonical(col[j]) * scale;
    col[i] = b.value();
    col[j] = a.value();
  }
}

__global__ void SpreadKernel(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                             int log_n, int log_len, const Fp* shift_pows) {
  const uint32_t c = blockIdx.y;
  const uint64_t n = uint64_t{1} << log_n, len = uint64_t{1} << log_len;
  for (uint64_t k = GlobalThread(); k < len; k += GridThreads()) {
    Fp v = Fp::Zero();
    if (k < n) {
      v = Fp::FromCanonical(src[c][k]) * scale[c];
      if (shift_pows != nullptr) v *= shift_pows[k];
    }
    dst[c][k] = v.value();
  }
}

// ----------------------------------------------------------------------------------------
__global__ void MerkleLeavesKernel(const TreeJob* trees, uint32_t num_trees, const uint64_t* prefix,
                                   uint64_t total) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_trees, g);
    const TreeJob& tree = trees[t];
    const uint64_t r = g - prefix[t];
    uint64_t out[4];
    HashRowLeaf(tree.data, tree.width, tree.rows, tree.row_major, r, out);
    uint64_t* dst = tree.nodes + 4 * (tree.rows + r);
    for (int l = 0; l < 4; ++l) dst[l] = out[l];
  }
}

__global__ void MerkleLevelKernel(const TreeJob* trees, uint32_t num_trees, const uint64_t* prefix,
                                  uint64_t total, int level) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_trees, g);
    const TreeJob& tree = trees[t];
    HashNode(tree.nodes, (tree.rows >> level) + (g - prefix[t]));
  }
}

// ----------------------------------------------------------------------------------------
__device__ RegisterFile ThreadRegisters(uint64_t* scratch, uint32_t base_regs, uint64_t threads) {
  const uint64_t t = GlobalThread();
  RegisterFile r;
  r.stride = threads;
  r.base = reinterpret_cast<Fp*>(scratch) + t;
  r.ext = reinterpret_cast<Fp3*>(scratch + uint64_t{base_regs} * threads) + t;
  return r;
}

__global__ void AuxRowsKernel(const AuxTable* tables, uint32_t num_tables, const uint64_t* prefix,
                              uint64_t total, uint64_t* scratch, uint32_t base_regs,
                              unsigned long long* bad) {
  const RegisterFile regs = ThreadRegisters(scratch, base_regs, GridThreads());
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_tables, g);
    const AuxTable& a = tables[t];
    const uint64_t j = g - prefix[t], n = uint64_t{1} << a.log_n;
    RunProgram(a.prog.program, regs,
               [&](uint32_t col, uint32_t) { return Fp::FromCanonical(a.trace[col * n + j]); });
    Fp3 row_sum;
    const bool ok = AuxRow(
        a.prog.logup, regs,
        [&](uint32_t grp, const Fp3& h) {
          for (int c = 0; c < 3; ++c) a.aux[(3 * grp + c) * n + j] = h.coeff(c).value();
        },
        &row_sum);
    if (!ok) {
      atomicMin(bad, (static_cast<unsigned long long>(t) << 40) | j);
      continue;
    }
    const uint64_t s_col = 3 * (a.prog.logup.num_groups - 1);
    for (int c = 0; c < 3; ++c) a.aux[(s_col + c) * n + j] = row_sum.coeff(c).value();
  }
}

// Chunk totals, then per segment an exclusive scan of its chunk totals (and the segment's
// total), then each chunk scanned exclusively with its offset and less i * total / n.
__global__ void ScanReduceKernel(const ScanChunk* chunks, uint64_t* sums) {
  using Reduce = cub::BlockReduce<Fp, kBlock>;
  __shared__ typename Reduce::TempStorage tmp;
  const ScanChunk c = chunks[blockIdx.x];
  Fp acc = Fp::Zero();
  for (uint64_t i = threadIdx.x; i < c.count; i += blockDim.x) acc += Fp::FromCanonical(c.data[i]);
  const Fp total = Reduce(tmp).Reduce(acc, FpAdd());
  if (threadIdx.x == 0) sums[blockIdx.x] = total.value();
}

__global__ void ScanOffsetsKernel(const ScanSegment* segments, uint32_t num_segments,
                                  uint64_t* sums) {
  for (uint64_t s = GlobalThread(); s < num_segments; s += GridThreads()) {
    Fp acc = Fp::Zero();
    for (uint32_t k = 0; k < segments[s].num_chunks; ++k) {
      uint64_t& slot = sums[segments[s].first_chunk + k];
      const Fp v = Fp::FromCanonical(slot);
      slot = acc.value();
      acc += v;
    }
    *segments[s].total = acc.value();
  }
}

__global__ void ScanChunksKernel(const ScanChunk* chunks, const ScanSegment* segments,
                                 const uint64_t* offsets) {
  constexpr int kItems = kScanChunk / kBlock;
  using Scan = cub::BlockScan<Fp, kBlock>;
  __shared__ typename Scan::TempStorage tmp;
  const ScanChunk c = chunks[blockIdx.x];
  const ScanSegment seg = segments[c.segment];
  const Fp mean = Fp::FromCanonical(*seg.total) * Fp::FromCanonical(seg.inv_len);
  // Thread i owns the kItems consecutive values from i * kItems (a blocked arrangement).
  Fp items[kItems];
  for (int k = 0; k < kItems; ++k) {
    const uint64_t i = uint64_t{threadIdx.x} * kItems + k;
    items[k] = i < c.count ? Fp::FromCanonical(c.data[i]) : Fp::Zero();
  }
  Scan(tmp).ExclusiveScan(items, items, Fp::Zero(), FpAdd());
  const Fp offset = Fp::FromCanonical(offsets[blockIdx.x]);
  for (int k = 0; k < kItems; ++k) {
    const uint64_t i = uint64_t{threadIdx.x} * kItems + k;
    if (i < c.count) {
      c.data[i] = (items[k] + offset - Fp::FromU64(c.first_index + i) * mean).value();
    }
  }
}

// ----------------------------------------------------------------------------------------
// Montgomery's trick over a thread's own values: one inversion for all of them.
template <int K>
__device__ void InvertInPlace(Fp (&v)[K], int count) {
  Fp prefix[K];
  Fp acc = Fp::One();
  for (int i = 0; i < count; ++i) {
    prefix[i] = acc;
    acc *= v[i];
  }
  Fp inv = acc.Inverse();
  for (int i = count; i-- > 0;) {
    const Fp x = v[i];
    v[i] = inv * prefix[i];
    inv *= x;
  }
}

__global__ void QuotientsKernel(const QuotientTable* tables, uint32_t num_tables,
                                const uint64_t* prefix, uint64_t total, uint64_t* scratch,
                                uint32_t base_regs) {
  const RegisterFile regs = ThreadRegisters(scratch, base_regs, GridThreads());
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t t = FindSegment(prefix, num_tables, g);
    const QuotientTable& q = tables[t];
    const uint64_t N = uint64_t{1} << q.log_N, E = uint64_t{1} << q.log_e;
    const uint64_t p0 = (g - prefix[t]) * kPointsPerThread;
    const int count = E - p0 < kPointsPerThread ? int(E - p0) : int(kPointsPerThread);
    const Fp w_last = Fp::RootOfUnity(q.log_n).Inverse();
    Fp x[kPointsPerThread], den[2 * kPointsPerThread];
    for (int k = 0; k < count; ++k) {
      x[k] = LdePoint(q.tw, q.log_N, q.shift, p0 + k);
      den[k] = x[k] - Fp::One();
      den[count + k] = x[k] - w_last;
    }
    InvertInPlace(den, 2 * count);
    for (int k = 0; k < count; ++k) {
      const uint64_t i = p0 + k, next = stark::NextRowPosition(i, q.log_n);
      RunProgram(q.prog.program, regs, [&](uint32_t col, uint32_t off) {
        return Fp::FromCanonical(q.main[col * N + (off ? next : i)]);
      });
      const Fp3 v = QuotientValue(
          q.prog.program, regs, q.prog.acc_reg, q.prog.logup, q.prog.logup_gamma, q.prog.logup_mean,
          [&](uint32_t grp, uint32_t off) {
            return LoadExtColumn(q.aux + 3 * grp * N, N, off ? next : i);
          },
          x[k], w_last, q.zinv[i >> q.log_n], den[k], den[count + k]);
      for (int c = 0; c < 3; ++c) q.out[c * E + i] = v.coeff(c).value();
    }
  }
}

__global__ void AllZeroKernel(const uint64_t* const* cols, uint64_t begin, uint64_t end,
                              unsigned long long* flag) {
  const uint64_t* col = cols[blockIdx.y];
  for (uint64_t i = begin + GlobalThread(); i < end; i += GridThreads()) {
    if (col[i] != 0) atomicOr(flag, 1ull);
  }
}

// ----------------------------------------------------------------------------------------
__global__ void EvalChunksKernel(const PolyEval* polys, uint32_t num_polys, const uint64_t* prefix,
                                 uint64_t total, uint64_t* partials) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t k = FindSegment(prefix, num_polys, g);
    const PolyEval& e = polys[k];
    const uint64_t begin = (g - prefix[k]) * kEvalChunk;
    const uint64_t end = begin + kEvalChunk < e.len ? begin + kEvalChunk : e.len;
    const Fp3 v = EvalChunk(e.coeffs, begin, end, e.point);
    for (int c = 0; c < 3; ++c) partials[3 * g + c] = v.coeff(c).value();
  }
}

__global__ void EvalSumKernel(const uint64_t* prefix, const uint64_t* partials, uint64_t* out) {
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
__global__ void DeepKernel(const DeepTable* tables, const DeepTarget* targets, uint32_t num_targets,
                           const uint64_t* prefix, uint64_t total, Fp lde_shift) {
  for (uint64_t g = GlobalThread(); g < total; g += GridThreads()) {
    const uint32_t ti = FindSegment(prefix, num_targets, g);
    const DeepTarget& tg = targets[ti];
    const uint64_t N = uint64_t{1} << tg.log_N;
    const uint64_t p0 = (g - prefix[ti]) * kPointsPerThread;
    const int count = N - p0 < kPointsPerThread ? int(N - p0) : int(kPointsPerThread);
    Fp3 acc[kPointsPerThread];
    for (int k = 0; k < count; ++k) {
      const uint64_t* t = tg.target + 3 * (p0 + k);
      acc[k] = Fp3(Fp::FromCanonical(t[0]), Fp::FromCanonical(t[1]), Fp::FromCanonical(t[2]));
    }
    for (uint32_t j = tg.first; j < tg.first + tg.count; ++j) {
      const DeepTable& d = tables[j];
      Fp x[kPointsPerThread], den[2 * kPointsPerThread];
      for (int k = 0; k < count; ++k) {
        x[k] = LdePoint(d.tw, d.log_N, lde_shift, p0 + k);
        den[k] = d.inv_z.Denominator(x[k]);
        den[count + k] = d.inv_zw.Denominator(x[k]);
      }
      InvertInPlace(den, 2 * count);
      for (int k = 0; k < count; ++k) acc[k] += DeepValue(d, p0 + k, x[k], den[k], den[count + k]);
    }
    for (int k = 0; k < count; ++k) {
      uint64_t* t = tg.target + 3 * (p0 + k);
      for (int c = 0; c < 3; ++c) t[c] = acc[k].coeff(c).value();
    }
  }
}

__global__ void FoldTwiddlesKernel(uint64_t* out, int log_m) {
  const uint64_t half = log_m == 0 ? 1 : uint64_t{1} << (log_m - 1);
  const Fp w_inv = Fp::RootOfUnity(log_m).Inverse();
  for (uint64_t c = GlobalThread(); c < half; c += GridThreads())
    out[c] = w_inv.Pow(BitRev(c, log_m == 0 ? 0 : log_m - 1)).value();
}

__global__ void FoldKernel(FoldArgs f) {
  const Fp3* in = reinterpret_cast<const Fp3*>(f.in);
  for (uint64_t c = GlobalThread(); c < f.groups; c += GridThreads()) {
    Fp3 v = FoldGroup(in, c, f.log_a, f.zetas, f.s_invs, f.twiddles, f.scale);
    if (f.inject != nullptr) {
      v += Fp3(Fp::FromCanonical(f.inject[3 * c]), Fp::FromCanonical(f.inject[3 * c + 1]),
               Fp::FromCanonical(f.inject[3 * c + 2]));
    }
    for (int k = 0; k < 3; ++k) f.out[3 * c + k] = v.coeff(k).value();
  }
}

__global__ void GatherKernel(const uint64_t* const* addresses, uint64_t count, uint64_t* out) {
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
    const uint64_t tiles = passes[i].tiles();
    const dim3 grid(static_cast<unsigned>(tiles < 65535 ? tiles : 65535), num_cols);
    const unsigned block =
        passes[i].tile_elems() / 2 < kBlock ? unsigned(passes[i].tile_elems() / 2) : kBlock;
    NttPassKernel<<<grid, block, 0, stream>>>(cols, passes[i], tw, log_tw);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                             cudaStream_t stream, uint64_t* launches) {
  if (num_cols == 0) return cudaSuccess;
  const dim3 grid(BlocksFor(uint64_t{1} << log_n, kBlock, 4096), num_cols);
  BitReverseKernel<<<grid, kBlock, 0, stream>>>(cols, log_n, scale);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                         uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows,
                         cudaStream_t stream, uint64_t* launches) {
  if (num_cols == 0) return cudaSuccess;
  const dim3 grid(BlocksFor(uint64_t{1} << log_len, kBlock, 4096), num_cols);
  SpreadKernel<<<grid, kBlock, 0, stream>>>(src, dst, scale, log_n, log_len, shift_pows);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchMerkle(const TreeJob* trees, uint32_t num_trees, const uint64_t* leaf_prefix,
                         uint64_t total_leaves, const uint64_t* level_prefix,
                         const uint64_t* level_totals, int levels, cudaStream_t stream,
                         uint64_t* launches) {
  if (num_trees == 0) return cudaSuccess;
  // Leaf hashing holds a 25-lane state per thread: 128 threads keep it in registers.
  MerkleLeavesKernel<<<BlocksFor(total_leaves, 128), 128, 0, stream>>>(trees, num_trees,
                                                                       leaf_prefix, total_leaves);
  Count(launches);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  for (int level = 1; level <= levels; ++level) {
    const uint64_t total = level_totals[level - 1];
    MerkleLevelKernel<<<BlocksFor(total, 128), 128, 0, stream>>>(
        trees, num_trees, level_prefix + uint64_t(level - 1) * (num_trees + 1), total, level);
    Count(launches);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

uint64_t ProgramThreads(const GridLimits& g) { return uint64_t(g.sm_count) * 8 * 128; }

uint64_t ProgramScratchWords(uint32_t base_regs, uint32_t ext_regs, uint64_t threads) {
  return (uint64_t{base_regs} + 3 * uint64_t{ext_regs}) * threads;
}

cudaError_t LaunchAuxRows(const AuxTable* tables, uint32_t num_tables, const uint64_t* row_prefix,
                          uint64_t total_rows, uint64_t* scratch, uint32_t base_regs,
                          uint32_t /*ext_regs*/, unsigned long long* bad, const GridLimits& g,
                          cudaStream_t stream, uint64_t* launches) {
  const unsigned blocks = static_cast<unsigned>(ProgramThreads(g) / 128);
  AuxRowsKernel<<<blocks, 128, 0, stream>>>(tables, num_tables, row_prefix, total_rows, scratch,
                                            base_regs, bad);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchSegmentedScan(const ScanChunk* chunks, uint32_t num_chunks,
                                const ScanSegment* segments, uint32_t num_segments,
                                uint64_t* chunk_sums, cudaStream_t stream, uint64_t* launches) {
  if (num_chunks == 0) return cudaSuccess;
  ScanReduceKernel<<<num_chunks, kBlock, 0, stream>>>(chunks, chunk_sums);
  ScanOffsetsKernel<<<BlocksFor(num_segments, 64), 64, 0, stream>>>(segments, num_segments,
                                                                    chunk_sums);
  ScanChunksKernel<<<num_chunks, kBlock, 0, stream>>>(chunks, segments, chunk_sums);
  Count(launches, 3);
  return cudaGetLastError();
}

cudaError_t LaunchQuotients(const QuotientTable* tables, uint32_t num_tables,
                            const uint64_t* group_prefix, uint64_t total_groups, uint64_t* scratch,
                            uint32_t base_regs, uint32_t /*ext_regs*/, const GridLimits& g,
                            cudaStream_t stream, uint64_t* launches) {
  const unsigned blocks = static_cast<unsigned>(ProgramThreads(g) / 128);
  QuotientsKernel<<<blocks, 128, 0, stream>>>(tables, num_tables, group_prefix, total_groups,
                                              scratch, base_regs);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                          uint64_t end, unsigned long long* flag, cudaStream_t stream,
                          uint64_t* launches) {
  if (num_cols == 0 || end <= begin) return cudaSuccess;
  const dim3 grid(BlocksFor(end - begin, kBlock, 4096), num_cols);
  AllZeroKernel<<<grid, kBlock, 0, stream>>>(cols, begin, end, flag);
  Count(launches);
  return cudaGetLastError();
}

cudaError_t LaunchEvalPolys(const PolyEval* polys, uint32_t num_polys, const uint64_t* chunk_prefix,
                            uint64_t total_chunks, uint64_t* partials, uint64_t* out,
                            cudaStream_t stream, uint64_t* launches) {
  if (num_polys == 0) return cudaSuccess;
  EvalChunksKernel<<<BlocksFor(total_chunks, 128), 128, 0, stream>>>(polys, num_polys, chunk_prefix,
                                                                     total_chunks, partials);
  EvalSumKernel<<<num_polys, kBlock, 0, stream>>>(chunk_prefix, partials, out);
  Count(launches, 2);
  return cudaGetLastError();
}

cudaError_t LaunchDeep(const DeepTable* tables, const DeepTarget* targets, uint32_t num_targets,
                       const uint64_t* group_prefix, uint64_t total_groups, Fp lde_shift,
                       cudaStream_t stream, uint64_t* launches) {
  if (num_targets == 0) return cudaSuccess;
  DeepKernel<<<BlocksFor(total_groups, 128), 128, 0, stream>>>(
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
  FoldKernel<<<BlocksFor(args.groups), kBlock, 0, stream>>>(args);
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
