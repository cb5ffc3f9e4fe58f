// Canonical little-endian encodings of field elements, with checked decoding.
//
// A base element is 8 bytes, little-endian, of its canonical value; an extension element
// is its three coefficients in order (24 bytes). Decoding rejects any value >= p, so every
// element has exactly one encoding.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover {

inline void StoreU64LE(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t LoadU64LE(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

// Checked conversion of a raw u64; `path` names the value in the error message.
absl::StatusOr<Fp> FpFromU64Checked(uint64_t raw, std::string_view path);

inline void EncodeFp(Fp x, uint8_t* out) { StoreU64LE(x.value(), out); }
inline void EncodeFp3(const Fp3& x, uint8_t* out) {
  for (int i = 0; i < 3; ++i) EncodeFp(x.coeff(i), out + 8 * i);
}

// Decodes exactly 8 (or 24) bytes; wrong lengths and non-canonical values are errors.
absl::StatusOr<Fp> DecodeFp(std::span<const uint8_t> bytes, std::string_view path);
absl::StatusOr<Fp3> DecodeFp3(std::span<const uint8_t> bytes, std::string_view path);

}  // namespace prover
