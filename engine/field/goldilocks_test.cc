#include "engine/field/goldilocks.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/field/field_codec.h"
#include "engine/testing/field_reference.h"

namespace prover {
namespace {

using testing::EdgeValues;
using testing::RefAdd;
using testing::RefMul;
using testing::RefSub;
using testing::u128;
constexpr uint64_t P = Fp::kModulus;

TEST(Goldilocks, EdgeValuesMatch128BitReference) {
  for (uint64_t a : EdgeValues()) {
    for (uint64_t b : EdgeValues()) {
      Fp x = Fp::FromCanonical(a), y = Fp::FromCanonical(b);
      ASSERT_EQ((x + y).value(), RefAdd(a, b)) << a << " + " << b;
      ASSERT_EQ((x - y).value(), RefSub(a, b)) << a << " - " << b;
      ASSERT_EQ((x * y).value(), RefMul(a, b)) << a << " * " << b;
    }
  }
}

TEST(Goldilocks, RandomValuesMatch128BitReference) {
  const uint64_t seed = 0x5eed0001;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200000; ++i) {
    uint64_t a = rng() % P, b = rng() % P;
    Fp x = Fp::FromCanonical(a), y = Fp::FromCanonical(b);
    ASSERT_EQ((x + y).value(), RefAdd(a, b)) << "seed " << seed << " i " << i;
    ASSERT_EQ((x - y).value(), RefSub(a, b)) << "seed " << seed << " i " << i;
    ASSERT_EQ((x * y).value(), RefMul(a, b)) << "seed " << seed << " i " << i;
    ASSERT_EQ((-x).value(), RefSub(0, a));
  }
}

TEST(Goldilocks, Reduce128CoversFullRange) {
  // Every 128-bit input, including ones that are not products of canonical values.
  std::mt19937_64 rng(0x5eed0002);
  std::vector<std::pair<uint64_t, uint64_t>> cases = {
      {0, 0}, {~0ull, ~0ull}, {0, ~0ull}, {~0ull, 0}, {P, 0}, {P - 1, P - 1}, {0, 1ull << 32}};
  for (int i = 0; i < 100000; ++i) cases.push_back({rng(), rng()});
  for (auto [lo, hi] : cases) {
    u128 x = (u128(hi) << 64) | lo;
    ASSERT_EQ(Fp::Reduce128(lo, hi), static_cast<uint64_t>(x % P)) << lo << " " << hi;
  }
}

TEST(Goldilocks, FromU64ReducesNonCanonicalInputs) {
  EXPECT_EQ(Fp::FromU64(P).value(), 0u);
  EXPECT_EQ(Fp::FromU64(P + 5).value(), 5u);
  EXPECT_EQ(Fp::FromU64(~0ull).value(), (~0ull) - P);
  EXPECT_EQ(Fp::FromU64(P - 1).value(), P - 1);
}

TEST(Goldilocks, InverseAndPow) {
  std::mt19937_64 rng(0x5eed0003);
  EXPECT_EQ(Fp::Zero().Inverse(), Fp::Zero());
  for (uint64_t a : EdgeValues()) {
    if (a == 0) continue;
    Fp x = Fp::FromCanonical(a);
    ASSERT_EQ(x * x.Inverse(), Fp::One()) << a;
  }
  for (int i = 0; i < 1000; ++i) {
    Fp x = Fp::FromU64(rng());
    if (x.IsZero()) continue;
    ASSERT_EQ(x * x.Inverse(), Fp::One());
    // Fermat: x^(p-1) = 1.
    ASSERT_EQ(x.Pow(P - 1), Fp::One());
  }
  Fp x = Fp::FromCanonical(3);
  EXPECT_EQ(x.Pow(0), Fp::One());
  EXPECT_EQ(x.Pow(5).value(), 243u);
}

TEST(Goldilocks, RootsOfUnityHaveExactOrder) {
  for (int k = 0; k <= 32; ++k) {
    Fp w = Fp::RootOfUnity(k);
    Fp x = w;
    for (int i = 0; i < k; ++i) x = x.Square();
    ASSERT_EQ(x, Fp::One()) << "w^(2^k) != 1 for k=" << k;
    if (k > 0) {
      Fp half = w;
      for (int i = 0; i < k - 1; ++i) half = half.Square();
      ASSERT_EQ(half, -Fp::One()) << "w^(2^(k-1)) != -1 for k=" << k;
    }
  }
  // The documented generator of the 2^32 subgroup is 7^((p-1)/2^32).
  EXPECT_EQ(Fp::FromCanonical(Fp::kMultiplicativeGenerator).Pow((P - 1) >> 32).value(),
            Fp::kTwoAdicGenerator);
}

TEST(Goldilocks, MultiplicativeGeneratorGeneratesTheGroup) {
  // p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537; g generates iff g^((p-1)/q) != 1 for each q.
  Fp g = Fp::FromCanonical(Fp::kMultiplicativeGenerator);
  for (uint64_t q : {2ull, 3ull, 5ull, 17ull, 257ull, 65537ull}) {
    EXPECT_NE(g.Pow((P - 1) / q), Fp::One()) << q;
  }
  EXPECT_EQ((1ull << 32) * 3 * 5 * 17 * 257 * 65537, P - 1);
}

TEST(FieldCodec, RoundTripAndRejectsNonCanonical) {
  uint8_t buf[8];
  for (uint64_t a : EdgeValues()) {
    EncodeFp(Fp::FromCanonical(a), buf);
    auto d = DecodeFp(buf, "x");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->value(), a);
  }
  EncodeFp(Fp::FromCanonical(0x0102030405060708ull), buf);
  EXPECT_EQ(buf[0], 0x08);  // little-endian
  EXPECT_EQ(buf[7], 0x01);
  for (uint64_t bad : std::vector<uint64_t>{P, P + 1, ~0ull, 0xFFFFFFFF00000002ull}) {
    StoreU64LE(bad, buf);
    auto d = DecodeFp(buf, "proof.values[3]");
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find("proof.values[3]"), std::string::npos);
  }
  EXPECT_FALSE(DecodeFp(std::span<const uint8_t>(buf, 7), "x").ok());
}

TEST(FieldCodec, ExtensionRoundTripAndRejection) {
  uint8_t buf[24];
  Fp3 a(Fp::FromCanonical(1), Fp::FromCanonical(P - 1), Fp::FromCanonical(1ull << 40));
  EncodeFp3(a, buf);
  auto d = DecodeFp3(buf, "z");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, a);
  StoreU64LE(P, buf + 16);
  auto bad = DecodeFp3(buf, "z");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("z.c2"), std::string::npos);
  EXPECT_FALSE(DecodeFp3(std::span<const uint8_t>(buf, 23), "z").ok());
}

}  // namespace
}  // namespace prover
