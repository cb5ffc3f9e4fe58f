// Sums of products of base-field values with one modular reduction at the end (host code).
//
// A product of two canonical values is below 2^128; the sum keeps 128 bits plus a count of
// the carries out of them, so value = lo + hi 2^64 + top 2^128. As 2^64 = 2^32 - 1 and
// 2^128 = (2^32 - 1)^2 = -2^32 (mod p), the residue is Reduce128(lo, hi) - top 2^32, and
// top 2^32 < p while fewer than 2^32 products are summed. Each term then costs a 64x64
// multiplication and three additions instead of a full reduction and a modular addition.
#pragma once

#include <cstdint>

#include "engine/field/goldilocks.h"

namespace prover {

#if !defined(__CUDA_ARCH__)
class WideSum {
 public:
  constexpr void Add(unsigned __int128 x) {
    sum_ += x;
    top_ += sum_ < x;
  }
  constexpr void AddProduct(Fp a, Fp b) {
    Add(static_cast<unsigned __int128>(a.value()) * b.value());
  }
  constexpr Fp Reduce() const {
    const Fp low = Fp::FromCanonical(
        Fp::Reduce128(static_cast<uint64_t>(sum_), static_cast<uint64_t>(sum_ >> 64)));
    return low - Fp::FromCanonical(top_ << 32);
  }

 private:
  unsigned __int128 sum_ = 0;
  uint64_t top_ = 0;
};

constexpr unsigned __int128 WideProduct(Fp a, Fp b) {
  return static_cast<unsigned __int128>(a.value()) * b.value();
}
#endif

}  // namespace prover
