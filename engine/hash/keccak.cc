#include "engine/hash/keccak.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/hash/keccak_kernels.h"
#include "engine/hash/keccak_lanes.h"

namespace prover {
namespace keccak_internal {
namespace {

// One lane per "vector": the portable path and the reference permutation.
struct ScalarLanes {
  static constexpr int kLanes = 1;
  using Vec = uint64_t;
  static Vec Zero() { return 0; }
  static Vec Xor(Vec a, Vec b) { return a ^ b; }
  static Vec Xor3(Vec a, Vec b, Vec c) { return a ^ b ^ c; }
  static Vec Chi(Vec a, Vec b, Vec c) { return a ^ (~b & c); }
  template <int R>
  static Vec Rotl(Vec a) {
    if constexpr (R == 0)
      return a;
    else
      return (a << R) | (a >> (64 - R));
  }
  static Vec Load(const uint64_t* p) { return *p; }
  static Vec Gather(const uint8_t* base, size_t /*stride*/) {
    uint64_t v;
    std::memcpy(&v, base, 8);  // little-endian host
    return v;
  }
  static void LoadTransposed(const uint8_t* base, size_t /*stride*/, Vec* out) {
    std::memcpy(out, base, 8);
  }
  static Vec Broadcast(uint64_t v) { return v; }
  static void Store(uint64_t* out, Vec v) { *out = v; }
};

void PortableBatch(const uint8_t* in, size_t stride, size_t len, size_t count, uint8_t* out) {
  for (size_t i = 0; i < count; ++i)
    HashGroup<ScalarLanes>(in + i * stride, stride, len, out + 32 * i);
}

void PortableColumnRows(const uint64_t* const* columns, size_t num_columns, size_t row_begin,
                        size_t count, uint8_t* out) {
  for (size_t i = 0; i < count; ++i) {
    HashRowGroup<ScalarLanes>(columns, num_columns, row_begin + i, out + 32 * i);
  }
}

}  // namespace

const KeccakKernels& PortableKernels() {
  static const KeccakKernels kernels{1, PortableBatch, PortableColumnRows};
  return kernels;
}

const KeccakKernels& KernelsFor(SimdLevel level) {
  return SelectKernels<KeccakKernels>(level, &PortableKernels, PROVER_AVX2_KERNELS(Avx2Kernels),
                                      PROVER_AVX512_KERNELS(Avx512Kernels));
}

}  // namespace keccak_internal

static_assert(std::endian::native == std::endian::little,
              "Keccak lanes assume a little-endian host");

std::string DigestToHex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}

void KeccakF1600(uint64_t state[25]) {
  keccak_internal::Permute<keccak_internal::ScalarLanes>(state);
}

Keccak256Hasher& Keccak256Hasher::Absorb(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    size_t take = std::min(kRate - buffered_, bytes.size() - i);
    std::memcpy(buffer_ + buffered_, bytes.data() + i, take);
    buffered_ += take;
    i += take;
    if (buffered_ == kRate) {
      for (size_t w = 0; w < kRate / 8; ++w) {
        uint64_t v;
        std::memcpy(&v, buffer_ + 8 * w, 8);
        state_[w] ^= v;
      }
      KeccakF1600(state_);
      buffered_ = 0;
    }
  }
  return *this;
}

Keccak256Hasher& Keccak256Hasher::AbsorbU64LE(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return Absorb(b);
}

Digest Keccak256Hasher::Finalize() {
  std::memset(buffer_ + buffered_, 0, kRate - buffered_);
  buffer_[buffered_] ^= 0x01;
  buffer_[kRate - 1] ^= 0x80;
  for (size_t w = 0; w < kRate / 8; ++w) {
    uint64_t v;
    std::memcpy(&v, buffer_ + 8 * w, 8);
    state_[w] ^= v;
  }
  KeccakF1600(state_);
  Digest d;
  std::memcpy(d.data(), state_, 32);
  return d;
}

Digest Keccak256(std::span<const uint8_t> message) {
  Digest d;
  keccak_internal::PortableKernels().batch(message.data(), 0, message.size(), 1, d.data());
  return d;
}

void Keccak256Batch(const uint8_t* in, size_t stride, size_t len, size_t count, Digest* out) {
  keccak_internal::KernelsFor(ActiveSimdLevel())
      .batch(in, stride, len, count, reinterpret_cast<uint8_t*>(out));
}

void Keccak256ColumnRows(std::span<const uint64_t* const> columns, size_t row_begin, size_t count,
                         Digest* out) {
  keccak_internal::KernelsFor(ActiveSimdLevel())
      .column_rows(columns.data(), columns.size(), row_begin, count,
                   reinterpret_cast<uint8_t*>(out));
}

}  // namespace prover
