// 8-way Keccak-256 with AVX-512: vpternlogq for theta's 3-way xors and chi, vprolq for rho.
// Compiled with AVX-512 flags; reached only through KernelsFor().
#include <immintrin.h>

#include "engine/hash/keccak_kernels.h"
#include "engine/hash/keccak_lanes.h"

namespace prover::keccak_internal {
namespace {

struct Avx512Lanes {
  static constexpr int kLanes = 8;
  using Vec = __m512i;
  static Vec Zero() { return _mm512_setzero_si512(); }
  static Vec Xor(Vec a, Vec b) { return _mm512_xor_si512(a, b); }
  static Vec Xor3(Vec a, Vec b, Vec c) { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
  // a ^ (~b & c): truth table 0xD2 over (a, b, c).
  static Vec Chi(Vec a, Vec b, Vec c) { return _mm512_ternarylogic_epi64(a, b, c, 0xD2); }
  template <int R>
  static Vec Rotl(Vec a) {
    return _mm512_rol_epi64(a, R);
  }
  static Vec Load(const uint64_t* p) { return _mm512_loadu_si512(p); }
  static Vec Gather(const uint8_t* base, size_t stride) {
    const long long s = static_cast<long long>(stride);
    const __m512i idx = _mm512_setr_epi64(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
    return _mm512_i64gather_epi64(idx, base, 1);
  }
  static void LoadTransposed(const uint8_t* base, size_t stride, Vec* out) {
    Vec r[8];
    for (int k = 0; k < 8; ++k) r[k] = _mm512_loadu_si512(base + k * stride);
    Transpose8(r, out);
  }
  // out[t] lane l = r[l][t]: unpack pairs, then two rounds of 128-bit block shuffles.
  static void Transpose8(const Vec* r, Vec* out) {
    Vec t[8];
    for (int k = 0; k < 8; k += 2) {
      t[k] = _mm512_unpacklo_epi64(r[k], r[k + 1]);      // r_k[0] r_k+1[0] r_k[2] ...
      t[k + 1] = _mm512_unpackhi_epi64(r[k], r[k + 1]);  // r_k[1] r_k+1[1] r_k[3] ...
    }
    // Even words from t[0], t[2], t[4], t[6]; odd words from t[1], t[3], t[5], t[7].
    for (int odd = 0; odd < 2; ++odd) {
      Vec u0 = _mm512_shuffle_i64x2(t[odd], t[2 + odd], 0x88);
      Vec u1 = _mm512_shuffle_i64x2(t[odd], t[2 + odd], 0xDD);
      Vec u2 = _mm512_shuffle_i64x2(t[4 + odd], t[6 + odd], 0x88);
      Vec u3 = _mm512_shuffle_i64x2(t[4 + odd], t[6 + odd], 0xDD);
      out[0 + odd] = _mm512_shuffle_i64x2(u0, u2, 0x88);
      out[4 + odd] = _mm512_shuffle_i64x2(u0, u2, 0xDD);
      out[2 + odd] = _mm512_shuffle_i64x2(u1, u3, 0x88);
      out[6 + odd] = _mm512_shuffle_i64x2(u1, u3, 0xDD);
    }
  }
  static Vec Broadcast(uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
  static void Store(uint64_t* out, Vec v) { _mm512_storeu_si512(out, v); }
};

void Batch(const uint8_t* in, size_t stride, size_t len, size_t count, uint8_t* out) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) HashGroup<Avx512Lanes>(in + i * stride, stride, len, out + 32 * i);
  PortableKernels().batch(in + i * stride, stride, len, count - i, out + 32 * i);
}

void ColumnRows(const uint64_t* const* columns, size_t num_columns, size_t row_begin, size_t count,
                uint8_t* out) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    HashRowGroup<Avx512Lanes>(columns, num_columns, row_begin + i, out + 32 * i);
  PortableKernels().column_rows(columns, num_columns, row_begin + i, count - i, out + 32 * i);
}

}  // namespace

const KeccakKernels& Avx512Kernels() {
  static const KeccakKernels kernels{8, Batch, ColumnRows};
  return kernels;
}

}  // namespace prover::keccak_internal
