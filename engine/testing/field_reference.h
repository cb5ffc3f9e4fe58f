// Test helper: Goldilocks arithmetic by plain % on unsigned __int128, and edge values.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/field/goldilocks.h"

namespace prover::testing {

using u128 = unsigned __int128;
inline constexpr uint64_t kP = Fp::kModulus;

inline uint64_t RefAdd(uint64_t a, uint64_t b) { return static_cast<uint64_t>((u128(a) + b) % kP); }
inline uint64_t RefSub(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((u128(a) + kP - b) % kP);
}
inline uint64_t RefMul(uint64_t a, uint64_t b) { return static_cast<uint64_t>((u128(a) * b) % kP); }

// Canonical values where carries, borrows and reductions change behaviour.
inline std::vector<uint64_t> EdgeValues() {
  return {0,
          1,
          2,
          kP - 1,
          kP - 2,
          1ull << 32,
          (1ull << 32) - 1,
          (1ull << 32) + 1,
          1ull << 63,
          (1ull << 63) - 1,
          kP / 2,
          kP / 2 + 1,
          0xFFFFFFFFull << 32,
          0x00000000FFFFFFFEull};
}

}  // namespace prover::testing
