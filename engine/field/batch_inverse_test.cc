#include "engine/field/batch_inverse.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tbb/global_control.h"

namespace prover {
namespace {

template <typename F>
F RandomElement(std::mt19937_64& rng);
template <>
Fp RandomElement<Fp>(std::mt19937_64& rng) {
  return Fp::FromU64(rng());
}
template <>
Fp3 RandomElement<Fp3>(std::mt19937_64& rng) {
  return Fp3(Fp::FromU64(rng()), Fp::FromU64(rng()), Fp::FromU64(rng()));
}

template <typename F>
class BatchInverseTest : public ::testing::Test {};
using FieldTypes = ::testing::Types<Fp, Fp3>;
TYPED_TEST_SUITE(BatchInverseTest, FieldTypes);

TYPED_TEST(BatchInverseTest, MatchesElementwiseInverseWithZeros) {
  using F = TypeParam;
  const uint64_t seed = 0x5eed0201;
  std::mt19937_64 rng(seed);
  for (size_t n : {0, 1, 2, 7, 1000, 4095, 4096, 4097, 10000, 65537}) {
    std::vector<F> in(n), out(n);
    for (auto& x : in) x = RandomElement<F>(rng);
    for (size_t i = 0; i < n; i += 97) in[i] = F::Zero();  // zeros, first element included
    if (n > 0) in[n - 1] = F::Zero();
    BatchInverse(std::span<const F>(in), std::span<F>(out));
    for (size_t i = 0; i < n; ++i) {
      if (in[i].IsZero()) {
        ASSERT_TRUE(out[i].IsZero()) << "zero rule broken at " << i;
      } else {
        ASSERT_EQ(out[i] * in[i], F::One()) << "n " << n << " i " << i << " seed " << seed;
      }
    }
  }
}

TYPED_TEST(BatchInverseTest, InPlaceAndAllZeros) {
  using F = TypeParam;
  std::mt19937_64 rng(0x5eed0202);
  std::vector<F> v(20000), orig;
  for (auto& x : v) x = RandomElement<F>(rng);
  v[5] = F::Zero();
  orig = v;
  BatchInverse(std::span<const F>(v), std::span<F>(v));
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], orig[i].Inverse()) << i;
  std::vector<F> zeros(5000, F::Zero()), out(5000, F::One());
  BatchInverse(std::span<const F>(zeros), std::span<F>(out));
  for (const F& x : out) ASSERT_TRUE(x.IsZero());
}

TEST(BatchInverse, SameResultWithOneAndTwoThreads) {
  std::mt19937_64 rng(0x5eed0203);
  std::vector<Fp> in(100000), a(in.size()), b(in.size());
  for (auto& x : in) x = Fp::FromU64(rng());
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    BatchInverse(std::span<const Fp>(in), std::span<Fp>(a));
  }
  {
    tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
    BatchInverse(std::span<const Fp>(in), std::span<Fp>(b));
  }
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace prover
