#include "engine/hash/keccak.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "engine/testing/simd_levels.h"

namespace prover {
namespace {

// Must match scripts/gen_keccak_vectors.py.
std::vector<uint8_t> VectorMessage(size_t n) {
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<uint8_t>((i * 131 + n * 7 + 3) % 256);
  return m;
}

std::vector<std::pair<size_t, std::string>> LoadVectors() {
  std::ifstream in("engine/hash/testdata/keccak256_vectors.txt");
  EXPECT_TRUE(in.good()) << "run tests from the repository root";
  std::vector<std::pair<size_t, std::string>> v;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    size_t n;
    std::string hex;
    ss >> n >> hex;
    v.emplace_back(n, hex);
  }
  return v;
}

using testing::ForEachSimdLevel;

TEST(Keccak256, KnownAnswers) {
  EXPECT_EQ(DigestToHex(Keccak256(std::string_view(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(DigestToHex(Keccak256(std::string_view("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak256, MatchesIndependentImplementation) {
  auto vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), 304u);  // lengths 0..300, 1000, 1088, 4096
  for (const auto& [n, hex] : vectors) {
    std::vector<uint8_t> m = VectorMessage(n);
    ASSERT_EQ(DigestToHex(Keccak256(m)), hex) << "length " << n;
    // The incremental hasher, fed in uneven pieces, agrees.
    Keccak256Hasher h;
    size_t i = 0, piece = 1;
    while (i < n) {
      size_t take = std::min(piece, n - i);
      h.Absorb(std::span<const uint8_t>(m.data() + i, take));
      i += take;
      piece = piece * 3 % 199 + 1;
    }
    ASSERT_EQ(DigestToHex(h.Finalize()), hex) << "incremental, length " << n;
  }
}

TEST(Keccak256, BatchMatchesScalarOnEverySimdPath) {
  auto vectors = LoadVectors();
  ForEachSimdLevel([&](SimdLevel) {
    // Vector messages: every length, in batches of 19 (not a multiple of 4 or 8).
    for (const auto& [n, hex] : vectors) {
      const size_t count = 19, stride = n + 5;
      std::vector<uint8_t> buf(stride * count);
      std::vector<uint8_t> m = VectorMessage(n);
      for (size_t k = 0; k < count; ++k) std::copy(m.begin(), m.end(), buf.begin() + k * stride);
      std::vector<Digest> out(count);
      Keccak256Batch(buf.data(), stride, n, count, out.data());
      for (size_t k = 0; k < count; ++k) ASSERT_EQ(DigestToHex(out[k]), hex) << "len " << n;
    }
    // Random distinct messages against the scalar hash.
    const uint64_t seed = 0x5eed0401;
    std::mt19937_64 rng(seed);
    for (size_t len : {0, 1, 63, 64, 135, 136, 137, 300, 1000}) {
      const size_t count = 37;
      std::vector<uint8_t> buf(len * count + 1);
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
      std::vector<Digest> out(count);
      Keccak256Batch(buf.data(), len, len, count, out.data());
      for (size_t k = 0; k < count; ++k) {
        ASSERT_EQ(out[k], Keccak256(std::span<const uint8_t>(buf.data() + k * len, len)))
            << "seed " << seed << " len " << len << " k " << k;
      }
    }
  });
}

TEST(Keccak256, ColumnRowsMatchRowBytesOnEverySimdPath) {
  const uint64_t seed = 0x5eed0402;
  std::mt19937_64 rng(seed);
  ForEachSimdLevel([&](SimdLevel) {
    for (size_t num_cols : {0, 1, 2, 16, 17, 18, 34, 40}) {
      const size_t rows = 53;
      std::vector<std::vector<uint64_t>> cols(num_cols, std::vector<uint64_t>(rows));
      std::vector<const uint64_t*> ptrs;
      for (auto& c : cols) {
        for (auto& x : c) x = rng() % 0xFFFFFFFF00000001ull;
        ptrs.push_back(c.data());
      }
      const size_t begin = 3, count = rows - begin;
      std::vector<Digest> out(count);
      Keccak256ColumnRows(ptrs, begin, count, out.data());
      for (size_t i = 0; i < count; ++i) {
        std::vector<uint8_t> bytes;
        for (size_t c = 0; c < num_cols; ++c) {
          for (int b = 0; b < 8; ++b)
            bytes.push_back(static_cast<uint8_t>(cols[c][begin + i] >> (8 * b)));
        }
        ASSERT_EQ(out[i], Keccak256(bytes))
            << "seed " << seed << " cols " << num_cols << " row " << i;
      }
    }
  });
}

TEST(KeccakF1600, ZeroStateKnownAnswer) {
  // Keccak-f[1600] applied to the all-zero state (the Keccak team's published first lane).
  uint64_t s[25] = {};
  KeccakF1600(s);
  EXPECT_EQ(s[0], 0xF1258F7940E1DDE7ull);
  EXPECT_EQ(s[1], 0x84D5CCF933C0478Aull);
}

}  // namespace
}  // namespace prover
