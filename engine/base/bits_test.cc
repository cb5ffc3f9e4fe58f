#include "engine/base/bits.h"

#include <gtest/gtest.h>

#include <random>

namespace prover {
namespace {

// The definition, one bit at a time.
uint64_t NaiveBitRev(uint64_t x, int bits) {
  uint64_t r = 0;
  for (int i = 0; i < bits; ++i) r |= ((x >> i) & 1) << (bits - 1 - i);
  return r;
}

TEST(Bits, BitRevReversesTheLowBits) {
  std::mt19937_64 rng(7);
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    for (int k = 0; k < 200; ++k) {
      const uint64_t x = rng() & mask;
      ASSERT_EQ(BitRev(x, bits), NaiveBitRev(x, bits)) << x << " " << bits;
      ASSERT_EQ(BitRev(BitRev(x, bits), bits), x);
    }
  }
  for (int bits = 0; bits <= 32; ++bits) {
    for (int k = 0; k < 200; ++k) {
      const uint32_t x = uint32_t(rng()) & uint32_t((uint64_t{1} << bits) - 1);
      ASSERT_EQ(BitRev32(x, bits), NaiveBitRev(x, bits)) << x << " " << bits;
    }
  }
  EXPECT_EQ(BitRev(1, 3), 4u);
  EXPECT_EQ(BitRev(6, 3), 3u);
}

TEST(Bits, CeilLog2) {
  EXPECT_EQ(CeilLog2(0), 0);
  EXPECT_EQ(CeilLog2(1), 0);
  EXPECT_EQ(CeilLog2(2), 1);
  EXPECT_EQ(CeilLog2(3), 2);
  EXPECT_EQ(CeilLog2(4), 2);
  EXPECT_EQ(CeilLog2(5), 3);
  EXPECT_EQ(CeilLog2(uint64_t{1} << 40), 40);
  EXPECT_EQ(CeilLog2((uint64_t{1} << 40) + 1), 41);
  EXPECT_EQ(CeilLog2(~uint64_t{0}), 64);
}

}  // namespace
}  // namespace prover
