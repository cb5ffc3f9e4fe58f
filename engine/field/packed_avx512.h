// Internal: 8 Goldilocks values in one AVX-512 register. Include only from translation
// units compiled with AVX-512 flags. Values are canonical (< p) on input and output.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstddef>

#include "engine/base/simd_transpose.h"
#include "engine/field/goldilocks.h"
#include "engine/field/packed_portable.h"

namespace prover::packed {

struct PackedAvx512 {
  static constexpr int kLanes = 8;
  using Vec = __m512i;

  static Vec Load(const Fp* p) { return _mm512_loadu_si512(p); }
  static void Store(Fp* p, Vec a) { _mm512_storeu_si512(p, a); }
  static Vec Broadcast(Fp x) { return _mm512_set1_epi64(static_cast<long long>(x.value())); }

  static Vec P() { return _mm512_set1_epi64(static_cast<long long>(Fp::kModulus)); }
  static Vec Eps() { return _mm512_set1_epi64(static_cast<long long>(Fp::kEpsilon)); }

  static Vec Add(Vec a, Vec b) {
    // t = a + (b - p) mod 2^64, with b - p = b + EPSILON (no wrap for b < p). t carried
    // out (t < a) exactly when a + b >= p, and then t = a + b - p; otherwise a + b = t + p,
    // i.e. t - EPSILON mod 2^64.
    const Vec t = _mm512_add_epi64(a, _mm512_add_epi64(b, Eps()));
    return _mm512_mask_sub_epi64(t, _mm512_cmpge_epu64_mask(t, a), t, Eps());
  }
  static Vec Sub(Vec a, Vec b) {
    Vec d = _mm512_sub_epi64(a, b);
    return _mm512_mask_add_epi64(d, _mm512_cmplt_epu64_mask(a, b), d, P());
  }
  // The 128-bit product from four 32x32 products, then the reduction of goldilocks.h.
  static Vec Mul(Vec a, Vec b) {
    const Vec a_hi = _mm512_srli_epi64(a, 32);
    const Vec b_hi = _mm512_srli_epi64(b, 32);
    const Vec ll = _mm512_mul_epu32(a, b);
    const Vec lh = _mm512_mul_epu32(a, b_hi);
    const Vec hl = _mm512_mul_epu32(a_hi, b);
    const Vec hh = _mm512_mul_epu32(a_hi, b_hi);
    const Vec mid = _mm512_add_epi64(lh, hl);  // may carry out of 64 bits
    const __mmask8 mid_carry = _mm512_cmplt_epu64_mask(mid, lh);
    const Vec lo = _mm512_add_epi64(ll, _mm512_slli_epi64(mid, 32));
    const __mmask8 lo_carry = _mm512_cmplt_epu64_mask(lo, ll);
    Vec hi = _mm512_add_epi64(hh, _mm512_srli_epi64(mid, 32));
    hi = _mm512_mask_add_epi64(hi, mid_carry, hi, _mm512_set1_epi64(1ll << 32));
    hi = _mm512_mask_add_epi64(hi, lo_carry, hi, _mm512_set1_epi64(1));
    // lo + 2^64 hi = lo - hi_hi + hi_lo * EPSILON (mod p).
    const Vec hi_hi = _mm512_srli_epi64(hi, 32);
    Vec t0 = _mm512_sub_epi64(lo, hi_hi);
    t0 = _mm512_mask_sub_epi64(t0, _mm512_cmplt_epu64_mask(lo, hi_hi), t0, Eps());
    const Vec t1 = _mm512_mul_epu32(hi, Eps());  // (hi mod 2^32) * EPSILON
    Vec r = _mm512_add_epi64(t0, t1);
    r = _mm512_mask_add_epi64(r, _mm512_cmplt_epu64_mask(r, t1), r, Eps());
    return _mm512_mask_sub_epi64(r, _mm512_cmpge_epu64_mask(r, P()), r, P());
  }

  // out[t] lane l = rows[l][j + t] for t, l < 8.
  static void LoadTransposed(const Fp* const* rows, size_t j, Vec* out) {
    Vec r[8];
    for (int k = 0; k < 8; ++k) r[k] = Load(rows[k] + j);
    simd::Transpose8x8(r, out);
  }

  template <int H>
  static constexpr std::array<long long, 8> SplitIndex(bool v_half) {
    constexpr auto pu = UPositions<kLanes, H>();
    std::array<long long, 8> idx{};
    for (int t = 0; t < kLanes; ++t) idx[t] = pu[t] + (v_half ? H : 0);
    return idx;
  }
  template <int H>
  static constexpr std::array<long long, 16> MergeIndex() {
    constexpr auto pu = UPositions<kLanes, H>();
    std::array<long long, 16> idx{};
    for (int t = 0; t < kLanes; ++t) {
      idx[pu[t]] = t;
      idx[pu[t] + H] = kLanes + t;
    }
    return idx;
  }
  static Vec FromArray(const long long* x) { return _mm512_loadu_si512(x); }

  template <int H>
  static void Split(Vec a, Vec b, Vec& u, Vec& v) {
    static constexpr auto iu = SplitIndex<H>(false);
    static constexpr auto iv = SplitIndex<H>(true);
    u = _mm512_permutex2var_epi64(a, FromArray(iu.data()), b);
    v = _mm512_permutex2var_epi64(a, FromArray(iv.data()), b);
  }
  template <int H>
  static void Merge(Vec u, Vec v, Vec& a, Vec& b) {
    static constexpr auto im = MergeIndex<H>();
    a = _mm512_permutex2var_epi64(u, FromArray(im.data()), v);
    b = _mm512_permutex2var_epi64(u, FromArray(im.data() + 8), v);
  }
};

}  // namespace prover::packed
