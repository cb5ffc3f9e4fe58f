#include "engine/field/field_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace prover {

absl::StatusOr<Fp> FpFromU64Checked(uint64_t raw, std::string_view path) {
  if (raw >= Fp::kModulus) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(path), ": non-canonical field element ", raw, " (must be < 2^64 - 2^32 + 1)"));
  }
  return Fp::FromCanonical(raw);
}

absl::StatusOr<Fp> DecodeFp(std::span<const uint8_t> bytes, std::string_view path) {
  if (bytes.size() != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(path), ": a field element is 8 bytes, got ", bytes.size()));
  }
  return FpFromU64Checked(LoadU64LE(bytes.data()), path);
}

absl::StatusOr<Fp3> DecodeFp3(std::span<const uint8_t> bytes, std::string_view path) {
  if (bytes.size() != 24) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(path), ": an extension element is 24 bytes, got ", bytes.size()));
  }
  Fp c[3];
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Fp> x =
        FpFromU64Checked(LoadU64LE(bytes.data() + 8 * i), absl::StrCat(std::string(path), ".c", i));
    if (!x.ok()) return x.status();
    c[i] = *x;
  }
  return Fp3(c[0], c[1], c[2]);
}

}  // namespace prover
