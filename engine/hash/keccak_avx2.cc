// 4-way Keccak-256 with AVX2. Compiled with -mavx2; reached only through KernelsFor().
#include <immintrin.h>

#include "engine/base/simd_transpose.h"
#include "engine/hash/keccak_kernels.h"
#include "engine/hash/keccak_lanes.h"

namespace prover::keccak_internal {
namespace {

struct Avx2Lanes {
  static constexpr int kLanes = 4;
  using Vec = __m256i;
  static Vec Zero() { return _mm256_setzero_si256(); }
  static Vec Xor(Vec a, Vec b) { return _mm256_xor_si256(a, b); }
  static Vec Xor3(Vec a, Vec b, Vec c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  static Vec Chi(Vec a, Vec b, Vec c) { return _mm256_xor_si256(a, _mm256_andnot_si256(b, c)); }
  template <int R>
  static Vec Rotl(Vec a) {
    if constexpr (R == 0)
      return a;
    else
      return _mm256_or_si256(_mm256_slli_epi64(a, R), _mm256_srli_epi64(a, 64 - R));
  }
  static Vec Load(const uint64_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static Vec Gather(const uint8_t* base, size_t stride) {
    const long long s = static_cast<long long>(stride);
    const __m256i idx = _mm256_setr_epi64x(0, s, 2 * s, 3 * s);
    return _mm256_i64gather_epi64(reinterpret_cast<const long long*>(base), idx, 1);
  }
  static void LoadTransposed(const uint8_t* base, size_t stride, Vec* out) {
    Vec r[4];
    for (int k = 0; k < 4; ++k)
      r[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + k * stride));
    simd::Transpose4x4(r, out);
  }
  static Vec Broadcast(uint64_t v) { return _mm256_set1_epi64x(static_cast<long long>(v)); }
  static void Store(uint64_t* out, Vec v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
  }
};

}  // namespace

const KeccakKernels& Avx2Kernels() {
  static const KeccakKernels kernels{4, BatchLanes<Avx2Lanes>, ColumnRowsLanes<Avx2Lanes>};
  return kernels;
}

}  // namespace prover::keccak_internal
