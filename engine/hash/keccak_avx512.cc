// 8-way Keccak-256 with AVX-512: vpternlogq for theta's 3-way xors and chi, vprolq for rho.
// Compiled with AVX-512 flags; reached only through KernelsFor().
#include <immintrin.h>

#include "engine/base/simd_transpose.h"
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
    simd::Transpose8x8(r, out);
  }
  static Vec Broadcast(uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
  static void Store(uint64_t* out, Vec v) { _mm512_storeu_si512(out, v); }
};

}  // namespace

const KeccakKernels& Avx512Kernels() {
  static const KeccakKernels kernels{8, BatchLanes<Avx512Lanes>, ColumnRowsLanes<Avx512Lanes>};
  return kernels;
}

}  // namespace prover::keccak_internal
