// The work of one thread (or one item of a grid-stride loop) of every kernel, written once
// for the host and the device: the CUDA kernels (prover_kernels.cu) run it per thread, the
// host runtime (engine/backend/cuda/host_runtime.cc) per thread index of the same grid, in
// order, so CI runs the code a GPU thread runs.
//
// A thread takes up to kPointsPerThread points spaced by a warp's width (PointsOfThread,
// geometry.h), and inverts all their denominators with one inversion. Its small arrays are indexed
// only by the counters of fully unrolled loops (PROVER_UNROLL) or through RegisterSelect, so that
// nvcc keeps them in registers instead of a stack frame in local memory
// (scripts/check-kernel-resources.py gates the frames).
#pragma once

#include <cstdint>
#include <type_traits>

#include "engine/base/host_device.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "kernels/bodies.h"
#include "kernels/descriptors.h"
#include "kernels/geometry.h"
#include "kernels/program.h"

namespace prover::kernels {

// Montgomery's trick over the first `count` values of v (K known at compile time): one
// inversion for all of them. Zero values are not allowed.
template <int K>
PROVER_HOST_DEVICE void InvertInPlace(Fp (&v)[K], int count) {
  Fp prefix[K];
  Fp acc = Fp::One();
  PROVER_UNROLL
  for (int i = 0; i < K; ++i) {
    if (i < count) {
      prefix[i] = acc;
      acc *= v[i];
    }
  }
  Fp inv = acc.Inverse();
  PROVER_UNROLL
  for (int i = K - 1; i >= 0; --i) {
    if (i < count) {
      const Fp x = v[i];
      v[i] = inv * prefix[i];
      inv *= x;
    }
  }
}

// v[i] for a run-time i, by compile-time indices only (K predicated moves).
template <typename T, int K>
PROVER_HOST_DEVICE T RegisterSelect(const T (&v)[K], int i) {
  T r = v[0];
  PROVER_UNROLL
  for (int k = 1; k < K; ++k) {
    if (k == i) r = v[k];
  }
  return r;
}

// The small grid-stride kernels, one item each.
// Powers: out[j] = base^j.
PROVER_HOST_DEVICE void PowerItem(uint64_t* out, Fp base, uint64_t j) {
  out[j] = base.Pow(j).value();
}
// Bit reversal of a column with a scale: item i swaps i with bitrev(i) when i <= bitrev(i)
// (both scaled once; the other item of the pair does nothing).
PROVER_HOST_DEVICE void BitReverseItem(uint64_t* col, int log_n, Fp scale, uint64_t i) {
  const uint64_t j = BitRev(i, log_n);
  if (i > j) return;
  const Fp a = Fp::FromCanonical(col[i]) * scale;
  const Fp b = Fp::FromCanonical(col[j]) * scale;
  col[i] = b.value();
  col[j] = a.value();
}
// Spread: dst[k] = src[k] * scale * shift_pows[k] below n = 2^log_n, zero above.
PROVER_HOST_DEVICE void SpreadItem(const uint64_t* src, uint64_t* dst, Fp scale, int log_n,
                                   const Fp* shift_pows, uint64_t k) {
  Fp v = Fp::Zero();
  if (k < (uint64_t{1} << log_n)) {
    v = Fp::FromCanonical(src[k]) * scale;
    if (shift_pows != nullptr) v *= shift_pows[k];
  }
  dst[k] = v.value();
}
// The fold twiddles of a layer of size 2^log_m: out[c] = w^-bitrev(c) (w_inv = w^-1).
PROVER_HOST_DEVICE void FoldTwiddleItem(uint64_t* out, Fp w_inv, int log_m, uint64_t c) {
  out[c] = w_inv.Pow(BitRev(c, log_m == 0 ? 0 : log_m - 1)).value();
}

// Index of the segment holding item g of a batched launch: the last s with prefix[s] <= g
// (prefix: count + 1 running totals, from 0).
PROVER_HOST_DEVICE uint32_t FindSegment(const uint64_t* prefix, uint32_t count, uint64_t g) {
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

// Polynomial evaluation, launch 1: chunk g (over every polynomial's kEvalChunk-coefficient
// chunks, prefix: num_polys + 1 running chunk counts) into partials[3g, 3g + 3).
PROVER_HOST_DEVICE void EvalChunkItem(const PolyEval* polys, uint32_t num_polys,
                                      const uint64_t* prefix, uint64_t* partials, uint64_t g) {
  const uint32_t k = FindSegment(prefix, num_polys, g);
  const PolyEval& e = polys[k];
  const uint64_t begin = (g - prefix[k]) * kEvalChunk;
  const uint64_t end = begin + kEvalChunk < e.len ? begin + kEvalChunk : e.len;
  const Fp3 v = EvalChunk(e.coeffs, begin, end, e.point);
  for (int c = 0; c < 3; ++c) partials[3 * g + c] = v.coeff(c).value();
}

// A Merkle tree over matrices of mixed heights (engine/hash/merkle.h). Item g of the rows
// launch hashes one row of one matrix into its row digests (prefix: running row counts).
PROVER_HOST_DEVICE void MerkleRowThread(const TreeMatrix* matrices, uint32_t num_matrices,
                                        const uint64_t* prefix, uint64_t g) {
  const uint32_t m = FindSegment(prefix, num_matrices, g);
  const TreeMatrix& mat = matrices[m];
  const uint64_t r = g - prefix[m];
  uint64_t out[4];
  HashRowLeaf(mat.data, mat.width, mat.rows, mat.row_major, r, out);
  uint64_t* dst = mat.digests + 4 * r;
  for (int l = 0; l < 4; ++l) dst[l] = out[l];
}
// Node i of the level of 2^log_level nodes (heap index 2^log_level + i): Keccak256 of its
// two children (unless the level is the bottom) then the row digests of the matrices the
// level takes in.
PROVER_HOST_DEVICE void MerkleLevelThread(const TreeMatrix* matrices, TreeLevel level,
                                          uint64_t* nodes, int log_level, bool children,
                                          uint64_t i) {
  const uint64_t x = (uint64_t{1} << log_level) + i;
  if (children && level.count == 0) {
    HashNode(nodes, x);
    return;
  }
  const uint32_t c = children ? 8 : 0;
  uint64_t out[4];
  HashLaneFn(
      c + 4 * level.count,
      [&](uint32_t k) -> uint64_t {
        if (k < c) return nodes[8 * x + k];
        k -= c;
        return matrices[level.first + k / 4].digests[4 * i + k % 4];
      },
      out);
  for (int l = 0; l < 4; ++l) nodes[4 * x + l] = out[l];
}

// Thread t's register files in a program kernel's scratch of ProgramScratchWords(base_regs,
// ext_regs, threads) words: the base registers, then the extension registers, register r of
// thread t at r * threads + t, so that a warp's accesses to one register are coalesced.
PROVER_HOST_DEVICE RegisterFile ThreadRegisterFile(uint64_t* scratch, uint32_t base_regs,
                                                   uint64_t threads, uint64_t t) {
  RegisterFile r;
  r.stride = threads;
  r.base = reinterpret_cast<Fp*>(scratch) + t;
  r.ext = reinterpret_cast<Fp3*>(scratch + uint64_t{base_regs} * threads) + t;
  return r;
}

// Round 2 (docs/PROTOCOL.md section 5): row j of aux table a (table t of the launch): its
// helper values and its row sum into the running-sum columns. on_vanish(t, j) when a
// fingerprint vanishes on the row (the row then has no valid helpers).
template <typename OnVanish>
PROVER_HOST_DEVICE void AuxRowThread(const AuxTable& a, uint32_t t, uint64_t j,
                                     const RegisterFile& regs, OnVanish on_vanish) {
  const uint64_t n = uint64_t{1} << a.log_n;
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
    on_vanish(t, j);
    return;
  }
  const uint64_t s_col = 3 * (a.prog.logup.num_groups - 1);
  for (int c = 0; c < 3; ++c) a.aux[(s_col + c) * n + j] = row_sum.coeff(c).value();
}

// The running sums' segmented scan, in three launches. 1: one block per chunk, thread tid's
// share of the chunk's total (the block then reduces the shares).
PROVER_HOST_DEVICE Fp ScanChunkShare(const ScanChunk& c, uint32_t tid, uint32_t threads) {
  Fp acc = Fp::Zero();
  for (uint64_t i = tid; i < c.count; i += threads) acc += Fp::FromCanonical(c.data[i]);
  return acc;
}
// 2: one thread per segment: its chunks' totals become exclusive offsets, and the
// segment's total is written.
PROVER_HOST_DEVICE void ScanSegmentOffsets(const ScanSegment& seg, uint64_t* sums) {
  Fp acc = Fp::Zero();
  for (uint32_t k = 0; k < seg.num_chunks; ++k) {
    uint64_t& slot = sums[seg.first_chunk + k];
    const Fp v = Fp::FromCanonical(slot);
    slot = acc.value();
    acc += v;
  }
  *seg.total = acc.value();
}
// 3: one block per chunk; thread tid owns the kScanItems consecutive values from
// tid * kScanItems (a blocked arrangement), loaded, scanned exclusively by the block, then
// stored with the chunk's offset and less i * total / n.
PROVER_HOST_DEVICE void ScanChunkLoad(const ScanChunk& c, uint32_t tid, Fp (&items)[kScanItems]) {
  for (uint32_t k = 0; k < kScanItems; ++k) {
    const uint64_t i = uint64_t{tid} * kScanItems + k;
    items[k] = i < c.count ? Fp::FromCanonical(c.data[i]) : Fp::Zero();
  }
}
PROVER_HOST_DEVICE void ScanChunkStore(const ScanChunk& c, const ScanSegment& seg, Fp offset,
                                       uint32_t tid, const Fp (&items)[kScanItems]) {
  const Fp mean = Fp::FromCanonical(*seg.total) * Fp::FromCanonical(seg.inv_len);
  for (uint32_t k = 0; k < kScanItems; ++k) {
    const uint64_t i = uint64_t{tid} * kScanItems + k;
    if (i < c.count) {
      c.data[i] = (items[k] + offset - Fp::FromU64(c.first_index + i) * mean).value();
    }
  }
}

// An NTT pass (bodies.h, NttPass): one thread's share of each phase of a tile, between the
// block's barriers. Thread `tid` of `threads` loads the tile's elements tid, tid + threads,
// ... into the block's shared array, then runs its butterflies of each stage, then stores.
PROVER_HOST_DEVICE void NttTileLoad(const NttPass& p, const uint64_t* col, uint64_t tile,
                                    uint32_t tid, uint32_t threads, uint64_t* shared) {
  for (uint64_t e = tid; e < p.tile_elems(); e += threads)
    shared[e] = col[NttTileIndex(p, tile, e)];
}
PROVER_HOST_DEVICE void NttTileStage(const NttPass& p, uint64_t tile, int t, uint32_t tid,
                                     uint32_t threads, uint64_t* shared, const Fp* tw, int log_tw) {
  Fp* sh = reinterpret_cast<Fp*>(shared);  // Fp is one canonical word
  for (uint64_t u = tid; u < p.tile_elems() / 2; u += threads) {
    NttTileButterfly(p, tile, t, u, sh, tw, log_tw);
  }
}
PROVER_HOST_DEVICE void NttTileStore(const NttPass& p, uint64_t* col, uint64_t tile, uint32_t tid,
                                     uint32_t threads, const uint64_t* shared) {
  for (uint64_t e = tid; e < p.tile_elems(); e += threads)
    col[NttTileIndex(p, tile, e)] = shared[e];
}

// Round 3 (docs/PROTOCOL.md section 6): the quotient of table q at the points of its
// thread `t` among the first E LDE positions (PointsOfThread), into q.out. regs: this
// thread's register files.
PROVER_HOST_DEVICE void QuotientPoints(const QuotientTable& q, uint64_t t,
                                       const RegisterFile& regs) {
  const uint64_t N = uint64_t{1} << q.log_N, E = uint64_t{1} << q.log_e;
  const ThreadPoints pts = PointsOfThread(t, E);
  const int count = pts.count;
  if (count == 0) return;
  const Fp w_last = Fp::RootOfUnity(q.log_n).Inverse();
  // Per point k: 1 / (x_k - 1) and 1 / (x_k - w_last) at 2k and 2k + 1.
  Fp den[2 * kPointsPerThread];
  PROVER_UNROLL
  for (int k = 0; k < int(kPointsPerThread); ++k) {
    if (k < count) {
      const Fp x = LdePoint(q.tw, q.log_N, q.shift, pts.at(k));
      den[2 * k] = x - Fp::One();
      den[2 * k + 1] = x - w_last;
    }
  }
  InvertInPlace(den, 2 * count);
  // One program run per point: not unrolled (the interpreter is large), so the inverses
  // come out of the array through RegisterSelect; x_k is read again (one table load).
  for (int k = 0; k < count; ++k) {
    const uint64_t i = pts.at(k), next = stark::NextRowPosition(i, q.log_n);
    RunProgram(q.prog.program, regs, [&](uint32_t col, uint32_t off) {
      return Fp::FromCanonical(q.main[col * N + (off ? next : i)]);
    });
    const Fp3 v = QuotientValue(
        q.prog.program, regs, q.prog.acc_reg, q.prog.logup, q.prog.logup_gamma, q.prog.logup_mean,
        [&](uint32_t grp, uint32_t off) {
          return LoadExtColumn(q.aux + 3 * grp * N, N, off ? next : i);
        },
        LdePoint(q.tw, q.log_N, q.shift, i), w_last, q.zinv[i >> q.log_n],
        RegisterSelect(den, 2 * k), RegisterSelect(den, 2 * k + 1));
    for (int c = 0; c < 3; ++c) q.out[c * E + i] = v.coeff(c).value();
  }
}

// Round 5 (section 8): the DEEP values of the tables of target tg at the points of its
// thread `t` (PointsOfThread over the layer), added to the target.
PROVER_HOST_DEVICE void DeepPoints(const DeepTable* tables, const DeepTarget& tg, uint64_t t,
                                   Fp lde_shift) {
  const uint64_t N = uint64_t{1} << tg.log_N;
  const ThreadPoints pts = PointsOfThread(t, N);
  const int count = pts.count;
  if (count == 0) return;
  Fp3 acc[kPointsPerThread];
  PROVER_UNROLL
  for (int k = 0; k < int(kPointsPerThread); ++k) {
    if (k < count) {
      const uint64_t* v = tg.target + 3 * pts.at(k);
      acc[k] = Fp3(Fp::FromCanonical(v[0]), Fp::FromCanonical(v[1]), Fp::FromCanonical(v[2]));
    }
  }
  for (uint32_t j = tg.first; j < tg.first + tg.count; ++j) {
    const DeepTable& d = tables[j];
    // Per point k: the denominators of 1 / (x_k - z) and 1 / (x_k - z w) at 2k and 2k + 1
    // (x_k is read again below: one table load, where keeping it costs registers).
    Fp den[2 * kPointsPerThread];
    PROVER_UNROLL
    for (int k = 0; k < int(kPointsPerThread); ++k) {
      if (k < count) {
        const Fp x = LdePoint(d.tw, d.log_N, lde_shift, pts.at(k));
        den[2 * k] = d.inv_z.Denominator(x);
        den[2 * k + 1] = d.inv_zw.Denominator(x);
      }
    }
    InvertInPlace(den, 2 * count);
    PROVER_UNROLL
    for (int k = 0; k < int(kPointsPerThread); ++k) {
      if (k < count) {
        const Fp x = LdePoint(d.tw, d.log_N, lde_shift, pts.at(k));
        acc[k] += DeepValue(d, pts.at(k), x, den[2 * k], den[2 * k + 1]);
      }
    }
  }
  PROVER_UNROLL
  for (int k = 0; k < int(kPointsPerThread); ++k) {
    if (k < count) {
      uint64_t* v = tg.target + 3 * pts.at(k);
      for (int c = 0; c < 3; ++c) v[c] = acc[k].coeff(c).value();
    }
  }
}

// Calls f(std::integral_constant<int, log_a>{}) for a fold arity 2^log_a, log_a in [1, 4]
// (one kernel, or one FoldPoint, per arity); false for any other.
template <typename F>
inline bool WithFoldLogArity(int log_a, F&& f) {
  switch (log_a) {
    case 1:
      f(std::integral_constant<int, 1>{});
      return true;
    case 2:
      f(std::integral_constant<int, 2>{});
      return true;
    case 3:
      f(std::integral_constant<int, 3>{});
      return true;
    case 4:
      f(std::integral_constant<int, 4>{});
      return true;
  }
  return false;
}

// The FRI fold of group c (section 9) by 2^kLogA, into f.out (plus what enters there).
template <int kLogA>
PROVER_HOST_DEVICE void FoldPoint(const FoldArgs& f, uint64_t c) {
  constexpr uint32_t kArity = uint32_t{1} << kLogA;
  const uint64_t* in = f.in + 3 * kArity * c;
  Fp3 v[kArity];
  PROVER_UNROLL
  for (uint32_t k = 0; k < kArity; ++k) {
    v[k] = Fp3(Fp::FromCanonical(in[3 * k]), Fp::FromCanonical(in[3 * k + 1]),
               Fp::FromCanonical(in[3 * k + 2]));
  }
  Fp3 out = stark::FoldUnscaled(
                v, kLogA, [&](int r) { return f.zetas[r]; },
                [&](int r, uint32_t k) {
                  return f.s_invs[r] * f.twiddles[c * ((kArity >> r) / 2) + k];
                }) *
            f.scale;
  if (f.inject != nullptr) {
    out += Fp3(Fp::FromCanonical(f.inject[3 * c]), Fp::FromCanonical(f.inject[3 * c + 1]),
               Fp::FromCanonical(f.inject[3 * c + 2]));
  }
  for (int k = 0; k < 3; ++k) f.out[3 * c + k] = out.coeff(k).value();
}

}  // namespace prover::kernels
