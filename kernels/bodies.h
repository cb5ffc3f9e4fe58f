// The per-element work of every CUDA kernel, written once for host and device.
//
// A kernel in kernels/*.cu is a grid-stride loop (or a block-tile loop) around one of
// these functions; the host runtime (engine/backend/cuda/host_runtime.cc) runs the same
// functions in host loops over the same grids. The host tests therefore check the kernels'
// index arithmetic and field math against the CPU backend on every CI run, even on machines
// without a GPU; only the launch mechanics (the launches, shared memory, CUB) need a GPU.
#pragma once

#include <cstdint>

#include "engine/base/bits.h"
#include "engine/base/host_device.h"
#include "engine/field/difference_inverse.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/protocol/formulas.h"
#include "kernels/keccak_body.h"
#include "kernels/program.h"

namespace prover::kernels {

inline constexpr uint32_t kNone = 0xFFFFFFFFu;

// ---------------------------------------------------------------------------------------
// NTT. Both directions are decimation-in-frequency (Gentleman-Sande): natural-order input,
// bit-reversed output, in place. Stage s of a transform of size 2^L pairs i and i + h,
// h = 2^(L-1-s), within blocks of 2h: (a, b) -> (a + b, (a - b) w_2h^(i mod h)). The
// twiddles come from one table of w_T^j, j < T/2, for a size T >= 2^L: w_2h^k is entry
// k * T / 2h. The inverse transform uses the table of w_T^-j and leaves the 1/n to the
// caller.
//
// Passes. The stages run in passes of up to 11: a pass of T stages starting at stage s0
// touches, for each fixed value of the index bits outside [lo, lo + T) (lo = L - s0 - T),
// the 2^T elements that differ in those bits, which one thread block loads into shared
// memory. A block takes `lanes` consecutive values of the low bits at once so that
// consecutive threads read consecutive addresses.
struct NttPass {
  int log_n = 0;   // L
  int s0 = 0;      // first stage
  int stages = 0;  // T
  int lo = 0;      // L - s0 - T
  int log_lanes = 0;
  // Elements per tile and tiles per column.
  PROVER_HOST_DEVICE uint64_t tile_elems() const { return uint64_t{1} << (stages + log_lanes); }
  PROVER_HOST_DEVICE uint64_t tiles() const { return uint64_t{1} << (log_n - stages - log_lanes); }
};

inline constexpr int kNttTileBits = 11;  // 2048 values, 16 KiB of shared memory

// The passes of a transform of size 2^log_n, in order; returns how many (at most 8).
inline int PlanNtt(int log_n, NttPass out[8]) {
  int count = 0, s0 = 0;
  const int before_last = log_n > kNttTileBits ? log_n - kNttTileBits : 0;
  if (before_last > 0) {
    const int passes = (before_last + 7) / 8;
    const int per = (before_last + passes - 1) / passes;
    for (int done = 0; done < before_last;) {
      const int t = before_last - done < per ? before_last - done : per;
      NttPass p;
      p.log_n = log_n;
      p.s0 = s0;
      p.stages = t;
      p.lo = log_n - s0 - t;
      p.log_lanes = kNttTileBits - t < p.lo ? kNttTileBits - t : p.lo;
      out[count++] = p;
      s0 += t;
      done += t;
    }
  }
  NttPass last;
  last.log_n = log_n;
  last.s0 = s0;
  last.stages = log_n - s0;
  last.lo = 0;
  last.log_lanes = 0;
  if (last.stages > 0) out[count++] = last;
  return count;
}

// Global index of element e (0 <= e < tile_elems) of tile `tile`; e = mid * lanes + lane.
PROVER_HOST_DEVICE uint64_t NttTileIndex(const NttPass& p, uint64_t tile, uint64_t e) {
  const uint64_t lanes_mask = (uint64_t{1} << p.log_lanes) - 1;
  const uint64_t lane = e & lanes_mask, mid = e >> p.log_lanes;
  const uint64_t low_blocks = uint64_t{1} << (p.lo - p.log_lanes);
  const uint64_t high = tile / low_blocks, low_block = tile % low_blocks;
  const uint64_t low = (low_block << p.log_lanes) | lane;
  return (high << (p.lo + p.stages)) | (mid << p.lo) | low;
}

// Butterfly u (0 <= u < tile_elems / 2) of stage t of the pass on the tile held in `sh`
// (indexed like e above). tw: the twiddle table of size 2^log_tw (entries < 2^(log_tw-1)).
PROVER_HOST_DEVICE void NttTileButterfly(const NttPass& p, uint64_t tile, int t, uint64_t u, Fp* sh,
                                         const Fp* tw, int log_tw) {
  const uint64_t lanes_mask = (uint64_t{1} << p.log_lanes) - 1;
  const uint64_t lane = u & lanes_mask, bm = u >> p.log_lanes;
  const int log_hm = p.stages - 1 - t;
  const uint64_t hm = uint64_t{1} << log_hm;
  const uint64_t i_mid = ((bm >> log_hm) << (log_hm + 1)) | (bm & (hm - 1));
  const uint64_t i = (i_mid << p.log_lanes) | lane, j = ((i_mid + hm) << p.log_lanes) | lane;
  // i mod h in global terms: the mid bits below hm, then the low bits.
  const uint64_t low_blocks = uint64_t{1} << (p.lo - p.log_lanes);
  const uint64_t low = ((tile % low_blocks) << p.log_lanes) | lane;
  const uint64_t k = ((bm & (hm - 1)) << p.lo) | low;
  const int log_h = log_hm + p.lo;  // global half-span
  const Fp w = tw[k << (log_tw - 1 - log_h)];
  const Fp a = sh[i], b = sh[j];
  sh[i] = a + b;
  sh[j] = (a - b) * w;
}

// ---------------------------------------------------------------------------------------
// Domains. x_p = shift * w_N^bitrev_N(p) from the table of w_N^j, j < N/2 (w_N^(j + N/2) =
// -w_N^j).
PROVER_HOST_DEVICE Fp RootPower(const Fp* tw, int log_N, uint64_t e) {
  const uint64_t half = uint64_t{1} << (log_N - 1);
  if (log_N == 0) return Fp::One();
  return e < half ? tw[e] : -tw[e - half];
}
PROVER_HOST_DEVICE Fp LdePoint(const Fp* tw, int log_N, Fp shift, uint64_t p) {
  return shift * RootPower(tw, log_N, BitRev(p, log_N));
}

// ---------------------------------------------------------------------------------------
// Merkle. Leaf of row r of a column-major matrix (column c at data + c * len) or of a
// row-major one (row r at data + r * width).
PROVER_HOST_DEVICE void HashRowLeaf(const uint64_t* data, uint32_t width, uint64_t len,
                                    bool row_major, uint64_t r, uint64_t out[4]) {
  if (row_major) {
    HashLanes(data + r * width, 1, width, out);
  } else {
    HashLanes(data + r, len, width, out);
  }
}
// Nodes in heap order, 4 lanes each: node i at nodes + 4 i.
PROVER_HOST_DEVICE void HashNode(uint64_t* nodes, uint64_t i) {
  HashPairLanes(nodes + 8 * i, nodes + 8 * i + 4, nodes + 4 * i);
}

// ---------------------------------------------------------------------------------------
// LogUp (docs/PROTOCOL.md section 5). Interactions of one table, grouped into aux columns.
struct LogUpView {
  uint32_t num_interactions = 0;
  uint32_t num_groups = 0;
  const uint32_t* group_first = nullptr;   // per group: its first interaction
  const uint32_t* group_second = nullptr;  // per group: its second interaction or kNone
  const uint32_t* phi_reg = nullptr;       // per interaction: ext register of phi_k
  const uint32_t* mult_reg = nullptr;      // per interaction: base register of m_k
  const uint32_t* tmp_reg = nullptr;       // per interaction: a scratch ext register
};

// After RunProgram on a trace row: replaces every phi_k by 1 / phi_k (one inversion per
// row, Montgomery's trick), writes the helper values h_g of every group but the last and
// returns in row_sum the row's term t = the sum over all groups. Returns false when some
// fingerprint is zero (the row then has no valid helpers).
template <typename StoreHelper>
PROVER_HOST_DEVICE bool AuxRow(const LogUpView& v, const RegisterFile& r, StoreHelper store,
                               Fp3* row_sum) {
  Fp3 acc = Fp3::One();
  bool ok = true;
  for (uint32_t k = 0; k < v.num_interactions; ++k) {
    r.e(v.tmp_reg[k]) = acc;
    const Fp3 phi = r.e(v.phi_reg[k]);
    if (phi.IsZero()) ok = false;
    acc = acc * phi;
  }
  if (!ok) return false;
  Fp3 inv = acc.Inverse();
  for (uint32_t k = v.num_interactions; k-- > 0;) {
    const Fp3 phi = r.e(v.phi_reg[k]);
    r.e(v.phi_reg[k]) = inv * r.e(v.tmp_reg[k]);
    inv = inv * phi;
  }
  Fp3 total = Fp3::Zero();
  for (uint32_t g = 0; g < v.num_groups; ++g) {
    const uint32_t k0 = v.group_first[g], k1 = v.group_second[g];
    const Fp3 h = k1 == kNone ? stark::GroupHelper(r.e(v.phi_reg[k0]), r.b(v.mult_reg[k0]))
                              : stark::GroupHelper(r.e(v.phi_reg[k0]), r.b(v.mult_reg[k0]),
                                                   r.e(v.phi_reg[k1]), r.b(v.mult_reg[k1]));
    if (g + 1 < v.num_groups) store(g, h);
    total += h;
  }
  *row_sum = total;
  return true;
}

// The quotient's value at one point after RunProgram there (docs/PROTOCOL.md section 6).
// acc: the four constraint sums (every row, transition, first row, last row). aux(c, next)
// reads extension aux column c at the point or the next-row point. pool: the G gamma powers
// of the LogUp constraints at logup_gamma, and sigma / n (the table's sum over its rows) at
// logup_mean.
template <typename AuxLoad>
PROVER_HOST_DEVICE Fp3 QuotientValue(const ProgramView& p, const RegisterFile& r,
                                     const uint32_t acc_reg[4], const LogUpView& v,
                                     uint32_t logup_gamma, uint32_t logup_mean, AuxLoad aux, Fp x,
                                     Fp w_last, Fp zinv, Fp inv_first, Fp inv_last) {
  Fp3 every = r.e(acc_reg[0]), trans = r.e(acc_reg[1]);
  const Fp3 first = r.e(acc_reg[2]), last = r.e(acc_reg[3]);
  if (v.num_groups != 0) {
    const uint32_t G = v.num_groups;
    // Group g's constraint with h standing for its terms.
    auto group = [&](uint32_t g, const Fp3& h) {
      const uint32_t k0 = v.group_first[g], k1 = v.group_second[g];
      if (k1 != kNone) {
        return stark::GroupConstraint(h, r.e(v.phi_reg[k0]), r.b(v.mult_reg[k0]),
                                      r.e(v.phi_reg[k1]), r.b(v.mult_reg[k1]));
      }
      return stark::GroupConstraint(h, r.e(v.phi_reg[k0]), r.b(v.mult_reg[k0]));
    };
    // The last group's terms: s' - s - the helpers + sigma / n.
    Fp3 last_terms = aux(G - 1, 1) - aux(G - 1, 0) + p.ext_pool[logup_mean];
    for (uint32_t g = 0; g + 1 < G; ++g) {
      const Fp3 h = aux(g, 0);
      last_terms -= h;
      every += p.ext_pool[logup_gamma + g] * group(g, h);
    }
    every += p.ext_pool[logup_gamma + G - 1] * group(G - 1, last_terms);
  }
  return (every + trans * (x - w_last)) * zinv + first * inv_first + last * inv_last;
}

// ---------------------------------------------------------------------------------------
// DEEP (docs/PROTOCOL.md section 8) at one LDE point of a table: with T the combination of
// the main and aux columns and Q that of the quotient parts (coefficients in `coef`,
// lambda^t times powers of delta), returns
//   (T + Q - c_z) / (x - z) + shift * (T - c_zw) / (x - z w).
struct DeepTable {
  const uint64_t* main = nullptr;      // m columns of N
  const uint64_t* aux = nullptr;       // 3a columns of N
  const uint64_t* quotient = nullptr;  // 3q columns of N
  uint32_t m = 0, a = 0, q = 0;
  int log_N = 0;
  const Fp* tw = nullptr;     // w_N^j, j < N/2 (the table's LDE domain)
  const Fp3* coef = nullptr;  // m + a + q coefficients
  Fp3 c_z, c_zw, shift;
  DifferenceInverse inv_z{Fp3()}, inv_zw{Fp3()};
  uint64_t* target = nullptr;  // N extension values (interleaved), added to
};

PROVER_HOST_DEVICE Fp3 LoadExtColumn(const uint64_t* base, uint64_t len, uint64_t i) {
  return Fp3(Fp::FromCanonical(base[i]), Fp::FromCanonical(base[len + i]),
             Fp::FromCanonical(base[2 * len + i]));
}

PROVER_HOST_DEVICE Fp3 DeepValue(const DeepTable& d, uint64_t p, Fp x, Fp inv_den_z,
                                 Fp inv_den_zw) {
  const uint64_t N = uint64_t{1} << d.log_N;
  Fp3 t = Fp3::Zero(), q = Fp3::Zero();
  for (uint32_t k = 0; k < d.m; ++k) t += d.coef[k] * Fp::FromCanonical(d.main[k * N + p]);
  for (uint32_t k = 0; k < d.a; ++k) t += d.coef[d.m + k] * LoadExtColumn(d.aux + 3 * k * N, N, p);
  for (uint32_t k = 0; k < d.q; ++k)
    q += d.coef[d.m + d.a + k] * LoadExtColumn(d.quotient + 3 * k * N, N, p);
  const Fp3 at_z = (t + q - d.c_z) * d.inv_z.Numerator(x);
  const Fp3 at_zw = (t - d.c_zw) * d.inv_zw.Numerator(x);
  return at_z * inv_den_z + d.shift * (at_zw * inv_den_zw);
}

// ---------------------------------------------------------------------------------------
// Polynomial evaluation: sum over k in [begin, end) of coeffs[k] x^k (a chunk of Horner's
// rule, shifted by x^begin).
PROVER_HOST_DEVICE Fp3 EvalChunk(const uint64_t* coeffs, uint64_t begin, uint64_t end,
                                 const Fp3& x) {
  Fp3 acc = Fp3::Zero();
  for (uint64_t k = end; k-- > begin;) acc = acc * x + Fp3(Fp::FromCanonical(coeffs[k]));
  return acc * x.Pow(begin);
}

}  // namespace prover::kernels
