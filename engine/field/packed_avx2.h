// Internal: 4 Goldilocks values in one AVX2 register. Include only from translation units
// compiled with AVX2 flags. AVX2 has no unsigned 64-bit compare: x < y (unsigned) is
// computed as a signed compare of x ^ 2^63 and y ^ 2^63.
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "engine/base/simd_transpose.h"
#include "engine/field/goldilocks.h"

namespace prover::packed {

struct PackedAvx2 {
  static constexpr int kLanes = 4;
  using Vec = __m256i;

  static Vec Load(const Fp* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void Store(Fp* p, Vec a) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), a); }
  static Vec Broadcast(Fp x) { return _mm256_set1_epi64x(static_cast<long long>(x.value())); }

  static Vec Set1(uint64_t x) { return _mm256_set1_epi64x(static_cast<long long>(x)); }
  static Vec Sign() { return Set1(1ull << 63); }
  // All-ones lanes where x < y, unsigned.
  static Vec LessThan(Vec x, Vec y) {
    return _mm256_cmpgt_epi64(_mm256_xor_si256(y, Sign()), _mm256_xor_si256(x, Sign()));
  }

  static Vec Add(Vec a, Vec b) {
    // t = a + (b - p) mod 2^64 = a + b + EPSILON; it carries (t < a) exactly when
    // a + b >= p, and then t = a + b - p; otherwise a + b = t - EPSILON mod 2^64.
    const Vec eps = Set1(Fp::kEpsilon);
    const Vec t = _mm256_add_epi64(a, _mm256_add_epi64(b, eps));
    return _mm256_sub_epi64(t, _mm256_andnot_si256(LessThan(t, a), eps));
  }
  static Vec Sub(Vec a, Vec b) {
    Vec d = _mm256_sub_epi64(a, b);
    return _mm256_add_epi64(d, _mm256_and_si256(LessThan(a, b), Set1(Fp::kModulus)));
  }
  static Vec Mul(Vec a, Vec b) {
    const Vec a_hi = _mm256_srli_epi64(a, 32);
    const Vec b_hi = _mm256_srli_epi64(b, 32);
    const Vec ll = _mm256_mul_epu32(a, b);
    const Vec lh = _mm256_mul_epu32(a, b_hi);
    const Vec hl = _mm256_mul_epu32(a_hi, b);
    const Vec hh = _mm256_mul_epu32(a_hi, b_hi);
    const Vec mid = _mm256_add_epi64(lh, hl);
    const Vec mid_carry = LessThan(mid, lh);
    const Vec lo = _mm256_add_epi64(ll, _mm256_slli_epi64(mid, 32));
    const Vec lo_carry = LessThan(lo, ll);
    Vec hi = _mm256_add_epi64(hh, _mm256_srli_epi64(mid, 32));
    hi = _mm256_add_epi64(hi, _mm256_and_si256(mid_carry, Set1(1ull << 32)));
    hi = _mm256_sub_epi64(hi, lo_carry);  // all-ones = -1: adds the carry
    const Vec eps = Set1(Fp::kEpsilon);
    const Vec hi_hi = _mm256_srli_epi64(hi, 32);
    Vec t0 = _mm256_sub_epi64(lo, hi_hi);
    t0 = _mm256_sub_epi64(t0, _mm256_and_si256(LessThan(lo, hi_hi), eps));
    const Vec t1 = _mm256_mul_epu32(hi, eps);
    Vec r = _mm256_add_epi64(t0, t1);
    r = _mm256_add_epi64(r, _mm256_and_si256(LessThan(r, t1), eps));
    Vec ge = _mm256_xor_si256(LessThan(r, Set1(Fp::kModulus)), _mm256_set1_epi64x(-1));
    return _mm256_sub_epi64(r, _mm256_and_si256(ge, Set1(Fp::kModulus)));
  }

  // out[t] lane l = rows[l][j + t] for t, l < 4.
  static void LoadTransposed(const Fp* const* rows, size_t j, Vec* out) {
    Vec r[4] = {Load(rows[0] + j), Load(rows[1] + j), Load(rows[2] + j), Load(rows[3] + j)};
    simd::Transpose4x4(r, out);
  }

  // H = 2: U = [A0 A1 B0 B1], V = [A2 A3 B2 B3]. H = 1: U = [A0 B0 A2 B2], V = [A1 B1 A3 B3].
  template <int H>
  static void Split(Vec a, Vec b, Vec& u, Vec& v) {
    static_assert(H == 1 || H == 2);
    if constexpr (H == 2) {
      u = _mm256_permute2x128_si256(a, b, 0x20);
      v = _mm256_permute2x128_si256(a, b, 0x31);
    } else {
      u = _mm256_unpacklo_epi64(a, b);
      v = _mm256_unpackhi_epi64(a, b);
    }
  }
  template <int H>
  static void Merge(Vec u, Vec v, Vec& a, Vec& b) {
    static_assert(H == 1 || H == 2);
    if constexpr (H == 2) {
      a = _mm256_permute2x128_si256(u, v, 0x20);
      b = _mm256_permute2x128_si256(u, v, 0x31);
    } else {
      a = _mm256_unpacklo_epi64(u, v);
      b = _mm256_unpackhi_epi64(u, v);
    }
  }
};

}  // namespace prover::packed
