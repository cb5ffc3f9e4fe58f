// Internal: the NTT kernels of ntt_kernels.h written once over a packed field type P
// (packed_portable.h, packed_avx2.h, packed_avx512.h). Included by exactly one
// translation unit per ISA; everything has internal linkage (see keccak_lanes.h).
#pragma once

#include <cstddef>

#include "engine/base/bits.h"
#include "engine/poly/ntt_kernels.h"

namespace prover::ntt_internal {
namespace {

// Scalar radix-2 DIF for arrays shorter than two vectors.
inline void DifScalar(Fp* a, size_t m, const Fp* stage) {
  for (size_t h = m / 2; h >= 1; h /= 2) {
    for (size_t b = 0; b < m; b += 2 * h) {
      for (size_t k = 0; k < h; ++k) {
        Fp u = a[b + k], v = a[b + k + h];
        a[b + k] = u + v;
        a[b + k + h] = (u - v) * stage[h + k];
      }
    }
  }
}

template <class P, int H>
inline void TailTwiddle(const Fp* stage, typename P::Vec& tw) {
  // Twiddle of each position q of a vector for half-size H: w_{2H}^(q mod H), then put in
  // the order Split<H> produces for the u inputs.
  alignas(64) Fp pos[P::kLanes];
  for (int q = 0; q < P::kLanes; ++q) pos[q] = stage[H + (q % H)];
  typename P::Vec x = P::Load(pos), unused;
  P::template Split<H>(x, x, tw, unused);
}

template <class P, int H>
inline void TailLayer(typename P::Vec& a, typename P::Vec& b, const typename P::Vec& tw) {
  typename P::Vec u, v;
  P::template Split<H>(a, b, u, v);
  typename P::Vec s = P::Add(u, v), d = P::Sub(u, v);
  if constexpr (H != 1) d = P::Mul(d, tw);  // w_2^0 = 1
  P::template Merge<H>(s, d, a, b);
}

template <class P>
void DifContiguous(Fp* a, int log_m, const Fp* stage) {
  constexpr size_t L = P::kLanes;
  const size_t m = size_t{1} << log_m;
  if (m < 2 * L) {
    DifScalar(a, m, stage);
    return;
  }
  for (size_t h = m / 2; h >= L; h /= 2) {
    for (size_t b = 0; b < m; b += 2 * h) {
      for (size_t k = 0; k < h; k += L) {
        auto u = P::Load(a + b + k), v = P::Load(a + b + k + h);
        P::Store(a + b + k, P::Add(u, v));
        P::Store(a + b + k + h, P::Mul(P::Sub(u, v), P::Load(stage + h + k)));
      }
    }
  }
  // The last log2(L) layers pair values inside one or two vectors.
  typename P::Vec tw4, tw2, tw1 = P::Broadcast(Fp::One());
  if constexpr (L == 8) TailTwiddle<P, 4>(stage, tw4);
  if constexpr (L >= 4) TailTwiddle<P, 2>(stage, tw2);
  for (size_t s = 0; s < m; s += 2 * L) {
    auto x = P::Load(a + s), y = P::Load(a + s + L);
    if constexpr (L == 8) TailLayer<P, 4>(x, y, tw4);
    if constexpr (L >= 4) TailLayer<P, 2>(x, y, tw2);
    TailLayer<P, 1>(x, y, tw1);
    P::Store(a + s, x);
    P::Store(a + s + L, y);
  }
}

// DIF over n1 "elements" that are vectors of L lanes stored contiguously (scratch[i][l]).
template <class P>
inline void DifStrided(Fp* s, size_t n1, const Fp* stage) {
  constexpr size_t L = P::kLanes;
  for (size_t h = n1 / 2; h >= 1; h /= 2) {
    for (size_t b = 0; b < n1; b += 2 * h) {
      for (size_t k = 0; k < h; ++k) {
        Fp* pu = s + (b + k) * L;
        Fp* pv = s + (b + k + h) * L;
        auto u = P::Load(pu), v = P::Load(pv);
        P::Store(pu, P::Add(u, v));
        auto d = P::Sub(u, v);
        P::Store(pv, k == 0 ? d : P::Mul(d, P::Broadcast(stage[h + k])));
      }
    }
  }
}

// DIT (bit-reversed in, natural out) over n1 vectors.
template <class P>
inline void DitStrided(Fp* s, size_t n1, const Fp* stage) {
  constexpr size_t L = P::kLanes;
  for (size_t h = 1; h < n1; h *= 2) {
    for (size_t b = 0; b < n1; b += 2 * h) {
      for (size_t k = 0; k < h; ++k) {
        Fp* pu = s + (b + k) * L;
        Fp* pv = s + (b + k + h) * L;
        auto u = P::Load(pu), v = P::Load(pv);
        if (k != 0) v = P::Mul(v, P::Broadcast(stage[h + k]));
        P::Store(pu, P::Add(u, v));
        P::Store(pv, P::Sub(u, v));
      }
    }
  }
}

template <class P>
void PhaseANatural(const Fp* src, Fp* dst, int log_n1, int log_n2, size_t i2, const Fp* stage,
                   const Fp* scale_hi, const Fp* scale_lo, Fp* scratch) {
  constexpr size_t L = P::kLanes;
  const size_t n1 = size_t{1} << log_n1, n2 = size_t{1} << log_n2;
  if (scale_hi != nullptr) {
    const auto lo = P::Load(scale_lo + i2);
    for (size_t i1 = 0; i1 < n1; ++i1) {
      auto x = P::Mul(P::Load(src + i1 * n2 + i2), lo);
      P::Store(scratch + i1 * L, P::Mul(x, P::Broadcast(scale_hi[i1])));
    }
  } else {
    for (size_t i1 = 0; i1 < n1; ++i1) P::Store(scratch + i1 * L, P::Load(src + i1 * n2 + i2));
  }
  DifStrided<P>(scratch, n1, stage);
  for (size_t p = 0; p < n1; ++p) P::Store(dst + p * n2 + i2, P::Load(scratch + p * L));
}

template <class P>
void PhaseABitrev(const Fp* src, Fp* dst, int log_n1, int log_n2, size_t i2, const Fp* stage,
                  const Fp* scale_hi, Fp* scratch) {
  constexpr size_t L = P::kLanes;
  const size_t n1 = size_t{1} << log_n1, n2 = size_t{1} << log_n2;
  // Lane l reads row bitrev_{n2}(i2 + l) of the n2 x n1 bit-reversed layout.
  const Fp* rows[L];
  for (size_t l = 0; l < L; ++l) {
    rows[l] = src + size_t(BitRev32(uint32_t(i2 + l), log_n2)) * n1;
  }
  if (n1 >= L) {
    // L consecutive positions of the L rows at a time, transposed in registers.
    for (size_t j = 0; j < n1; j += L) {
      typename P::Vec t[L];
      P::LoadTransposed(rows, j, t);
      for (size_t u = 0; u < L; ++u) {
        P::Store(scratch + (j + u) * L, P::Mul(t[u], P::Broadcast(scale_hi[j + u])));
      }
    }
  } else {
    alignas(64) Fp gathered[L];
    for (size_t j = 0; j < n1; ++j) {
      for (size_t l = 0; l < L; ++l) gathered[l] = rows[l][j];
      P::Store(scratch + j * L, P::Mul(P::Load(gathered), P::Broadcast(scale_hi[j])));
    }
  }
  DitStrided<P>(scratch, n1, stage);
  for (size_t k1 = 0; k1 < n1; ++k1) {
    P::Store(dst + size_t(BitRev32(uint32_t(k1), log_n1)) * n2 + i2, P::Load(scratch + k1 * L));
  }
}

template <class P>
void PhaseBRow(Fp* row, int log_n2, Fp r, Fp c, const Fp* stage) {
  constexpr size_t L = P::kLanes;
  const size_t n2 = size_t{1} << log_n2;
  if (r != Fp::One() || c != Fp::One()) {
    if (n2 < L) {
      Fp cur = c;
      for (size_t i = 0; i < n2; ++i, cur *= r) row[i] *= cur;
    } else {
      alignas(64) Fp pw[L];
      pw[0] = c;
      Fp r_l = r;  // r^L after the loop
      for (size_t l = 1; l < L; ++l) pw[l] = pw[l - 1] * r, r_l *= r;
      auto cur = P::Load(pw);
      const auto step = P::Broadcast(r_l);
      for (size_t i = 0; i < n2; i += L) {
        P::Store(row + i, P::Mul(P::Load(row + i), cur));
        cur = P::Mul(cur, step);
      }
    }
  }
  DifContiguous<P>(row, log_n2, stage);
}

template <class P>
void Elementwise(const Fp* a, const Fp* b, size_t n, Fp* sum, Fp* diff, Fp* prod) {
  constexpr size_t L = P::kLanes;
  size_t i = 0;
  for (; i + L <= n; i += L) {
    auto x = P::Load(a + i), y = P::Load(b + i);
    P::Store(sum + i, P::Add(x, y));
    P::Store(diff + i, P::Sub(x, y));
    P::Store(prod + i, P::Mul(x, y));
  }
  for (; i < n; ++i) sum[i] = a[i] + b[i], diff[i] = a[i] - b[i], prod[i] = a[i] * b[i];
}

template <class P>
NttKernels MakeKernels() {
  return NttKernels{P::kLanes,       DifContiguous<P>, PhaseANatural<P>,
                    PhaseABitrev<P>, PhaseBRow<P>,     Elementwise<P>};
}

}  // namespace
}  // namespace prover::ntt_internal
