// The packed (SIMD) Goldilocks arithmetic of every path against the 128-bit reference.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/poly/ntt_kernels.h"
#include "engine/testing/field_reference.h"
#include "engine/testing/simd_levels.h"

namespace prover {
namespace {

constexpr uint64_t P = Fp::kModulus;

TEST(PackedGoldilocks, EveryPathMatches128BitReference) {
  const uint64_t seed = 0x5eed0801;
  std::mt19937_64 rng(seed);
  const std::vector<uint64_t> edges = testing::EdgeValues();
  std::vector<Fp> a, b;
  for (uint64_t x : edges)
    for (uint64_t y : edges) a.push_back(Fp::FromCanonical(x)), b.push_back(Fp::FromCanonical(y));
  for (int i = 0; i < 100003; ++i) {  // not a multiple of the lane count: the tail runs too
    // Mix uniform values with ones near p and near 2^32 multiples, where carries happen.
    auto pick = [&]() -> uint64_t {
      switch (rng() % 4) {
        case 0:
          return P - 1 - rng() % 1000;
        case 1:
          return ((rng() % 0xFFFFFFFFull) << 32) | (rng() % 3);
        default:
          return rng() % P;
      }
    };
    a.push_back(Fp::FromCanonical(pick()));
    b.push_back(Fp::FromCanonical(pick()));
  }
  const size_t n = a.size();
  testing::ForEachSimdLevel([&](SimdLevel level) {
    std::vector<Fp> sum(n), diff(n), prod(n);
    ntt_internal::KernelsFor(level).elementwise(a.data(), b.data(), n, sum.data(), diff.data(),
                                                prod.data());
    for (size_t i = 0; i < n; ++i) {
      const uint64_t x = a[i].value(), y = b[i].value();
      ASSERT_EQ(sum[i].value(), testing::RefAdd(x, y)) << x << " + " << y << " seed " << seed;
      ASSERT_EQ(diff[i].value(), testing::RefSub(x, y)) << x << " - " << y;
      ASSERT_EQ(prod[i].value(), testing::RefMul(x, y)) << x << " * " << y;
    }
  });
}

}  // namespace
}  // namespace prover
