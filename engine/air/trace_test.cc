#include "engine/air/trace.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/field/field_codec.h"
#include "engine/hash/keccak.h"

namespace prover::air {
namespace {

Trace RandomTrace(std::mt19937_64& rng) {
  Trace t;
  for (auto [cols, log_rows] : {std::pair{3u, 4}, {1u, 1}, {5u, 7}}) {
    TableTrace tt(cols, log_rows);
    for (uint32_t c = 0; c < cols; ++c)
      for (size_t r = 0; r < tt.rows(); ++r) tt.at(c, r) = Fp::FromU64(rng());
    t.tables.push_back(std::move(tt));
  }
  return t;
}

// Recomputes the trailing checksum after a deliberate edit.
void Reseal(std::vector<uint8_t>& bytes) {
  Digest d = Keccak256(std::span<const uint8_t>(bytes.data(), bytes.size() - 32));
  std::memcpy(bytes.data() + bytes.size() - 32, d.data(), 32);
}

void ExpectError(std::span<const uint8_t> bytes, const std::string& message) {
  auto d = DecodeTrace(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find(message), std::string::npos) << d.status().message();
}

TEST(TraceFormat, RoundTrip) {
  std::mt19937_64 rng(0x5eed0901);
  Trace t = RandomTrace(rng);
  std::vector<uint8_t> bytes = EncodeTrace(t);
  EXPECT_EQ(bytes.size(), 16 + 3 * 8 + 8 * (3 * 16 + 1 * 2 + 5 * 128) + 32);
  auto d = DecodeTrace(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->tables.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(d->tables[i].num_columns(), t.tables[i].num_columns());
    ASSERT_EQ(d->tables[i].log_rows(), t.tables[i].log_rows());
    for (uint32_t c = 0; c < t.tables[i].num_columns(); ++c)
      for (size_t r = 0; r < t.tables[i].rows(); ++r)
        ASSERT_EQ(d->tables[i].at(c, r), t.tables[i].at(c, r));
  }
}

TEST(TraceFormat, RejectsBadInput) {
  std::mt19937_64 rng(0x5eed0902);
  const std::vector<uint8_t> good = EncodeTrace(RandomTrace(rng));
  {
    auto b = good;
    b[0] = 'X';
    ExpectError(b, "bad magic");
  }
  {
    auto b = good;
    b[8] = 2;
    ExpectError(b, "unsupported version 2");
  }
  {
    auto b = good;
    b[100] ^= 1;  // a value byte, checksum now wrong
    ExpectError(b, "checksum mismatch");
  }
  {
    auto b = good;
    // tables[2].columns[1][5]: header 16 + 24, table 0: 48 values, table 1: 2, then 128 + 5.
    size_t pos = 16 + 24 + 8 * (48 + 2 + 128 + 5);
    StoreU64LE(Fp::kModulus, &b[pos]);
    Reseal(b);
    ExpectError(b, "tables[2].columns[1][5]: non-canonical field element");
  }
  {
    auto b = good;
    b.push_back(0);
    ExpectError(b, "bytes for these shapes");
  }
  {
    auto b = good;
    b.resize(b.size() - 1);
    ExpectError(b, "bytes for these shapes");
  }
  {
    auto b = good;
    b[16 + 4] = 40;  // tables[0].log_rows = 40
    Reseal(b);
    ExpectError(b, "tables[0].log_rows: 40 above 26");
  }
  {
    auto b = good;
    std::memset(&b[16], 0, 4);  // tables[0] with 0 columns
    ExpectError(b, "tables[0].num_columns: 0");
  }
  ExpectError(std::span<const uint8_t>(good.data(), 10), "too short");
}

}  // namespace
}  // namespace prover::air
