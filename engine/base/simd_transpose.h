// Internal: in-register transposes of 64-bit lanes, for translation units compiled with
// AVX2 (Transpose4x4) or AVX-512 (Transpose8x8) flags. out[t] lane l = rows[l] lane t.
#pragma once

#include <immintrin.h>

namespace prover::simd {

#if defined(__AVX2__)
inline __attribute__((always_inline)) void Transpose4x4(const __m256i* r, __m256i* out) {
  __m256i t0 = _mm256_unpacklo_epi64(r[0], r[1]), t1 = _mm256_unpackhi_epi64(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi64(r[2], r[3]), t3 = _mm256_unpackhi_epi64(r[2], r[3]);
  out[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
  out[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
  out[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
  out[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}
#endif

#if defined(__AVX512F__)
// Unpack pairs of rows, then two rounds of 128-bit block shuffles.
inline __attribute__((always_inline)) void Transpose8x8(const __m512i* r, __m512i* out) {
  __m512i t[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_epi64(r[k], r[k + 1]);      // r_k[0] r_k+1[0] r_k[2] ...
    t[k + 1] = _mm512_unpackhi_epi64(r[k], r[k + 1]);  // r_k[1] r_k+1[1] r_k[3] ...
  }
  // Even words from t[0], t[2], t[4], t[6]; odd words from t[1], t[3], t[5], t[7].
  for (int odd = 0; odd < 2; ++odd) {
    __m512i u0 = _mm512_shuffle_i64x2(t[odd], t[2 + odd], 0x88);
    __m512i u1 = _mm512_shuffle_i64x2(t[odd], t[2 + odd], 0xDD);
    __m512i u2 = _mm512_shuffle_i64x2(t[4 + odd], t[6 + odd], 0x88);
    __m512i u3 = _mm512_shuffle_i64x2(t[4 + odd], t[6 + odd], 0xDD);
    out[0 + odd] = _mm512_shuffle_i64x2(u0, u2, 0x88);
    out[4 + odd] = _mm512_shuffle_i64x2(u0, u2, 0xDD);
    out[2 + odd] = _mm512_shuffle_i64x2(u1, u3, 0x88);
    out[6 + odd] = _mm512_shuffle_i64x2(u1, u3, 0xDD);
  }
}
#endif

}  // namespace prover::simd
