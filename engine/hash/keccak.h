// Keccak-256 with Ethereum padding (the original Keccak pad10*1 with domain byte 0x01,
// not SHA3-256's 0x06), rate 136 bytes, 32-byte output.
//
// Two levels of API:
//   * Keccak256 / Keccak256Hasher: one message at a time, scalar, any length.
//   * Keccak256Batch / Keccak256ColumnRows: many independent messages of equal length,
//     hashed 8 at a time with AVX-512, 4 at a time with AVX2 or one at a time, chosen by
//     ActiveSimdLevel(). Every path gives the same digests. They run on the calling thread;
//     callers parallelise over ranges.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace prover {

using Digest = std::array<uint8_t, 32>;

std::string DigestToHex(const Digest& d);

// The Keccak-f[1600] permutation on 25 little-endian lanes, in place.
void KeccakF1600(uint64_t state[25]);

Digest Keccak256(std::span<const uint8_t> message);
inline Digest Keccak256(std::string_view message) {
  return Keccak256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
}

// Incremental hashing of a message given in pieces; Finalize() may be called once.
class Keccak256Hasher {
 public:
  static constexpr size_t kRate = 136;
  Keccak256Hasher() = default;
  Keccak256Hasher& Absorb(std::span<const uint8_t> bytes);
  Keccak256Hasher& AbsorbU64LE(uint64_t v);
  Digest Finalize();

 private:
  uint64_t state_[25] = {};
  uint8_t buffer_[kRate] = {};
  size_t buffered_ = 0;
};

// out[i] = Keccak256(in[i*stride .. i*stride + len)) for i < count.
void Keccak256Batch(const uint8_t* in, size_t stride, size_t len, size_t count, Digest* out);

// Leaf hashes of rows of a column set: out[i] = Keccak256 of the canonical little-endian
// bytes of columns[0][r], columns[1][r], ..., columns[C-1][r] for r = row_begin + i.
// Each column points to at least row_begin + count readable u64 values.
void Keccak256ColumnRows(std::span<const uint64_t* const> columns, size_t row_begin, size_t count,
                         Digest* out);

}  // namespace prover
