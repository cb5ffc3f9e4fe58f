#include "engine/poly/ntt.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/base/bits.h"
#include "engine/poly/naive_dft.h"
#include "engine/poly/ntt_kernels.h"
#include "engine/testing/simd_levels.h"
#include "tbb/global_control.h"

namespace prover {
namespace {

using testing::ForEachSimdLevel;

std::vector<Fp> RandomColumn(size_t n, std::mt19937_64& rng) {
  std::vector<Fp> v(n);
  for (auto& x : v) x = Fp::FromU64(rng());
  return v;
}

std::vector<Fp> Permuted(const std::vector<Fp>& a) {
  const int log_n = std::countr_zero(a.size());
  std::vector<Fp> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[BitRev(i, log_n)] = a[i];
  return out;
}

std::vector<Fp> Forward(std::vector<Fp> a, Order in, Order out) {
  Fp* col = a.data();
  EXPECT_TRUE(ForwardNtt(std::span<Fp* const>(&col, 1), std::countr_zero(a.size()), in, out).ok());
  return a;
}
std::vector<Fp> Inverse(std::vector<Fp> a, Order in, Order out) {
  Fp* col = a.data();
  EXPECT_TRUE(InverseNtt(std::span<Fp* const>(&col, 1), std::countr_zero(a.size()), in, out).ok());
  return a;
}

// Every size 2^0 .. 2^12 against the O(n^2) DFT, in all four orderings, on every SIMD path.
TEST(Ntt, MatchesNaiveDftForEverySizeUpTo4096) {
  const uint64_t seed = 0x5eed0501;
  std::mt19937_64 rng(seed);
  for (int log_n = 0; log_n <= 12; ++log_n) {
    SCOPED_TRACE("log_n " + std::to_string(log_n) + " seed " + std::to_string(seed));
    const size_t n = size_t{1} << log_n;
    std::vector<Fp> a = RandomColumn(n, rng);
    const std::vector<Fp> want = NaiveDft(a, Fp::RootOfUnity(log_n));
    const std::vector<Fp> want_inv = NaiveDft(a, Fp::RootOfUnity(log_n).Inverse());
    const Fp n_inv = Fp::FromCanonical(n).Inverse();
    ForEachSimdLevel([&](SimdLevel) {
      ASSERT_EQ(Forward(a, Order::kNatural, Order::kNatural), want);
      ASSERT_EQ(Forward(a, Order::kNatural, Order::kBitReversed), Permuted(want));
      ASSERT_EQ(Forward(Permuted(a), Order::kBitReversed, Order::kNatural), want);
      ASSERT_EQ(Forward(Permuted(a), Order::kBitReversed, Order::kBitReversed), Permuted(want));
      std::vector<Fp> inv = Inverse(a, Order::kNatural, Order::kNatural);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(inv[i], want_inv[i] * n_inv) << i;
      ASSERT_EQ(Inverse(a, Order::kNatural, Order::kBitReversed), Permuted(inv));
      ASSERT_EQ(Inverse(Permuted(a), Order::kBitReversed, Order::kNatural), inv);
    });
  }
}

// Larger sizes (four-step path): spot values against Horner, and inverse(forward) = id.
TEST(Ntt, LargeSizesAgreeWithHornerAndRoundTrip) {
  const uint64_t seed = 0x5eed0502;
  std::mt19937_64 rng(seed);
  for (int log_n : {13, 14, 15, 17, 19}) {
    SCOPED_TRACE("log_n " + std::to_string(log_n) + " seed " + std::to_string(seed));
    const size_t n = size_t{1} << log_n;
    std::vector<Fp> a = RandomColumn(n, rng);
    std::vector<Fp> reference;
    ForEachSimdLevel([&](SimdLevel level) {
      std::vector<Fp> f = Forward(a, Order::kNatural, Order::kNatural);
      if (level == SimdLevel::kPortable) {
        reference = f;
        const Fp w = Fp::RootOfUnity(log_n);
        for (int s = 0; s < 8; ++s) {
          size_t k = rng() % n;
          ASSERT_EQ(f[k], HornerEvaluate(a, w.Pow(k))) << "k " << k;
        }
      } else {
        ASSERT_EQ(f, reference) << "SIMD path differs from the portable one";
      }
      ASSERT_EQ(Inverse(f, Order::kNatural, Order::kNatural), a);
      std::vector<Fp> fb = Forward(a, Order::kNatural, Order::kBitReversed);
      ASSERT_EQ(Inverse(fb, Order::kBitReversed, Order::kBitReversed), Permuted(a));
    });
  }
}

TEST(Ntt, ManyColumnsSameAsOneAtATime) {
  std::mt19937_64 rng(0x5eed0503);
  const int log_n = 14;
  std::vector<std::vector<Fp>> cols;
  std::vector<Fp*> ptrs;
  for (int c = 0; c < 5; ++c) cols.push_back(RandomColumn(size_t{1} << log_n, rng));
  std::vector<std::vector<Fp>> singles;
  for (auto& c : cols) singles.push_back(Forward(c, Order::kNatural, Order::kBitReversed));
  for (auto& c : cols) ptrs.push_back(c.data());
  ASSERT_TRUE(ForwardNtt(ptrs, log_n, Order::kNatural, Order::kBitReversed).ok());
  for (size_t c = 0; c < cols.size(); ++c) EXPECT_EQ(cols[c], singles[c]) << c;
}

TEST(Ntt, SameBytesWithOneAndTwoThreads) {
  std::mt19937_64 rng(0x5eed0504);
  const int log_n = 16;
  std::vector<Fp> a = RandomColumn(size_t{1} << log_n, rng), one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = Forward(a, Order::kNatural, Order::kNatural);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = Forward(a, Order::kNatural, Order::kNatural);
  }
  EXPECT_EQ(one, two);
}

TEST(Ntt, BitReversePermuteIsAnInvolution) {
  std::mt19937_64 rng(0x5eed0505);
  for (int log_n = 0; log_n <= 13; ++log_n) {
    std::vector<Fp> a = RandomColumn(size_t{1} << log_n, rng), b = a;
    Fp* p = b.data();
    BitReversePermute(std::span<Fp* const>(&p, 1), log_n);
    ASSERT_EQ(b, Permuted(a)) << log_n;
    BitReversePermute(std::span<Fp* const>(&p, 1), log_n);
    ASSERT_EQ(b, a) << log_n;
  }
}

TEST(Ntt, RejectsBadSizes) {
  std::vector<Fp> a(4);
  Fp* p = a.data();
  EXPECT_EQ(ForwardNtt(std::span<Fp* const>(&p, 1), 33, Order::kNatural, Order::kNatural).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InverseNtt(std::span<Fp* const>(&p, 1), -1, Order::kNatural, Order::kNatural).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace prover
