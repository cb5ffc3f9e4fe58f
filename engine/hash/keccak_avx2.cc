// 4-way Keccak-256 with AVX2. Compiled with -mavx2; reached only through KernelsFor().
#include <immintrin.h>

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
    Vec r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base));
    Vec r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + stride));
    Vec r2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 2 * stride));
    Vec r3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 3 * stride));
    Transpose4(r0, r1, r2, r3, out);
  }
  // out[t] lane l = r_l[t].
  static void Transpose4(Vec r0, Vec r1, Vec r2, Vec r3, Vec* out) {
    Vec t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
    Vec t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
    out[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    out[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    out[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    out[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
  }
  static Vec Broadcast(uint64_t v) { return _mm256_set1_epi64x(static_cast<long long>(v)); }
  static void Store(uint64_t* out, Vec v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
  }
};

void Batch(const uint8_t* in, size_t stride, size_t len, size_t count, uint8_t* out) {
  size_t i = 0;
  for (; i + 4 <= count; i += 4) HashGroup<Avx2Lanes>(in + i * stride, stride, len, out + 32 * i);
  PortableKernels().batch(in + i * stride, stride, len, count - i, out + 32 * i);
}

void ColumnRows(const uint64_t* const* columns, size_t num_columns, size_t row_begin, size_t count,
                uint8_t* out) {
  size_t i = 0;
  for (; i + 4 <= count; i += 4)
    HashRowGroup<Avx2Lanes>(columns, num_columns, row_begin + i, out + 32 * i);
  PortableKernels().column_rows(columns, num_columns, row_begin + i, count - i, out + 32 * i);
}

}  // namespace

const KeccakKernels& Avx2Kernels() {
  static const KeccakKernels kernels{4, Batch, ColumnRows};
  return kernels;
}

}  // namespace prover::keccak_internal
