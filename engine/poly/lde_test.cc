#include "engine/poly/lde.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/base/bits.h"
#include "engine/field/extension.h"
#include "engine/poly/naive_dft.h"
#include "engine/poly/ntt_kernels.h"
#include "engine/testing/simd_levels.h"
#include "tbb/global_control.h"

namespace prover {
namespace {

using testing::ForEachSimdLevel;

struct Columns {
  std::vector<std::vector<Fp>> data;
  std::vector<const Fp*> in() const {
    std::vector<const Fp*> p;
    for (auto& c : data) p.push_back(c.data());
    return p;
  }
  std::vector<Fp*> out() {
    std::vector<Fp*> p;
    for (auto& c : data) p.push_back(c.data());
    return p;
  }
};

Columns RandomColumns(size_t cols, size_t n, std::mt19937_64& rng) {
  Columns c;
  for (size_t i = 0; i < cols; ++i) {
    c.data.emplace_back(n);
    for (auto& x : c.data.back()) x = Fp::FromU64(rng());
  }
  return c;
}

Columns Lde(const Columns& in, int log_n, int log_blowup, Fp shift) {
  Columns out;
  out.data.assign(in.data.size(), std::vector<Fp>(size_t{1} << (log_n + log_blowup)));
  auto in_ptrs = in.in();
  auto out_ptrs = out.out();
  absl::Status s = CosetLde(in_ptrs, log_n, log_blowup, shift, out_ptrs);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// The interpolant's coefficients by the naive inverse DFT.
std::vector<Fp> Coefficients(const std::vector<Fp>& values) {
  const int log_n = std::countr_zero(values.size());
  std::vector<Fp> c = NaiveDft(values, Fp::RootOfUnity(log_n).Inverse());
  const Fp n_inv = Fp::FromCanonical(values.size()).Inverse();
  for (auto& x : c) x *= n_inv;
  return c;
}

// out[r] = f(shift * w_N^bitrev(r)), checked at every point for small sizes.
TEST(CosetLde, MatchesHornerAtEveryCosetPoint) {
  const uint64_t seed = 0x5eed0601;
  std::mt19937_64 rng(seed);
  const Fp shift = Fp::FromCanonical(Fp::kMultiplicativeGenerator);
  for (int log_n = 0; log_n <= 9; ++log_n) {
    for (int log_blowup : {0, 1, 2, 3}) {
      SCOPED_TRACE("log_n " + std::to_string(log_n) + " log_blowup " + std::to_string(log_blowup) +
                   " seed " + std::to_string(seed));
      Columns in = RandomColumns(3, size_t{1} << log_n, rng);
      const int log_big = log_n + log_blowup;
      const Fp w = Fp::RootOfUnity(log_big);
      ForEachSimdLevel([&](SimdLevel) {
        Columns out = Lde(in, log_n, log_blowup, shift);
        for (size_t c = 0; c < in.data.size(); ++c) {
          std::vector<Fp> coeffs = Coefficients(in.data[c]);
          for (size_t r = 0; r < out.data[c].size(); ++r) {
            Fp x = shift * w.Pow(BitRev(r, log_big));
            ASSERT_EQ(out.data[c][r], HornerEvaluate(coeffs, x)) << "col " << c << " r " << r;
          }
        }
      });
    }
  }
}

TEST(CosetLde, LargeSizesSpotChecksAndPathsAgree) {
  const uint64_t seed = 0x5eed0602;
  std::mt19937_64 rng(seed);
  const Fp shift = Fp::FromCanonical(Fp::kMultiplicativeGenerator);
  for (auto [log_n, log_blowup] : {std::pair{13, 1}, {14, 2}, {16, 3}, {17, 1}}) {
    SCOPED_TRACE("log_n " + std::to_string(log_n) + " seed " + std::to_string(seed));
    Columns in = RandomColumns(2, size_t{1} << log_n, rng);
    const int log_big = log_n + log_blowup;
    const Fp w = Fp::RootOfUnity(log_big);
    std::vector<std::vector<Fp>> coeffs;
    for (auto& c : in.data) {
      std::vector<Fp> v = c;
      Fp* p = v.data();
      ASSERT_TRUE(Interpolate(std::span<Fp* const>(&p, 1), log_n).ok());
      coeffs.push_back(v);
    }
    Columns reference;
    ForEachSimdLevel([&](SimdLevel level) {
      Columns out = Lde(in, log_n, log_blowup, shift);
      if (level == SimdLevel::kPortable) {
        reference = out;
        for (int s = 0; s < 6; ++s) {
          size_t r = rng() % out.data[0].size();
          for (size_t c = 0; c < in.data.size(); ++c) {
            ASSERT_EQ(out.data[c][r], HornerEvaluate(coeffs[c], shift * w.Pow(BitRev(r, log_big))));
          }
        }
      } else {
        ASSERT_EQ(out.data, reference.data);
      }
    });
  }
}

TEST(CosetLde, OtherShiftsAndTheSubgroupItself) {
  std::mt19937_64 rng(0x5eed0603);
  const int log_n = 6, log_blowup = 2;
  Columns in = RandomColumns(1, size_t{1} << log_n, rng);
  std::vector<Fp> coeffs = Coefficients(in.data[0]);
  for (uint64_t s : std::vector<uint64_t>{1, 3, 0x123456789ull, Fp::kModulus - 1}) {
    Fp shift = Fp::FromCanonical(s);
    Columns out = Lde(in, log_n, log_blowup, shift);
    const Fp w = Fp::RootOfUnity(log_n + log_blowup);
    for (size_t r = 0; r < out.data[0].size(); ++r) {
      ASSERT_EQ(out.data[0][r], HornerEvaluate(coeffs, shift * w.Pow(BitRev(r, 8)))) << s;
    }
  }
  // With shift 1 and blowup 1 the LDE reproduces the input (in bit-reversed order).
  Columns same = Lde(in, log_n, 0, Fp::One());
  for (size_t r = 0; r < in.data[0].size(); ++r) {
    ASSERT_EQ(same.data[0][r], in.data[0][BitRev(r, log_n)]);
  }
}

// An extension column is three base columns: its LDE is the three base LDEs.
TEST(CosetLde, ExtensionColumnAsThreeBaseColumns) {
  std::mt19937_64 rng(0x5eed0604);
  const int log_n = 7, log_blowup = 2;
  const size_t n = size_t{1} << log_n;
  Columns in = RandomColumns(3, n, rng);  // coefficients c0, c1, c2 of one Fp3 column
  Columns out = Lde(in, log_n, log_blowup, Fp::FromCanonical(7));
  // Interpolate the Fp3 column by the naive inverse DFT over Fp3 and evaluate.
  const Fp w_inv = Fp::RootOfUnity(log_n).Inverse();
  const Fp n_inv = Fp::FromCanonical(n).Inverse();
  std::vector<Fp3> coeffs(n);
  for (size_t i = 0; i < n; ++i) {
    Fp3 acc;
    for (size_t k = 0; k < n; ++k) {
      acc += Fp3(in.data[0][k], in.data[1][k], in.data[2][k]) * w_inv.Pow(i * k);
    }
    coeffs[i] = acc * n_inv;
  }
  const Fp w = Fp::RootOfUnity(log_n + log_blowup);
  for (size_t r = 0; r < out.data[0].size(); r += 5) {
    Fp x = Fp::FromCanonical(7) * w.Pow(BitRev(r, log_n + log_blowup));
    Fp3 acc;
    for (size_t i = n; i-- > 0;) acc = acc * x + coeffs[i];
    ASSERT_EQ(Fp3(out.data[0][r], out.data[1][r], out.data[2][r]), acc) << r;
  }
}

TEST(CosetLde, SameBytesWithOneAndTwoThreads) {
  std::mt19937_64 rng(0x5eed0605);
  Columns in = RandomColumns(4, size_t{1} << 15, rng);
  Columns one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = Lde(in, 15, 2, Fp::FromCanonical(7));
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = Lde(in, 15, 2, Fp::FromCanonical(7));
  }
  EXPECT_EQ(one.data, two.data);
}

TEST(CosetLde, RejectsBadArguments) {
  std::vector<Fp> a(8), b(16);
  const Fp* in = a.data();
  Fp* out = b.data();
  EXPECT_EQ(
      CosetLde(std::span<const Fp* const>(&in, 1), 3, 1, Fp::Zero(), std::span<Fp* const>(&out, 1))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      CosetLde(std::span<const Fp* const>(&in, 1), 30, 3, Fp::One(), std::span<Fp* const>(&out, 1))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      CosetLde(std::span<const Fp* const>(&in, 1), 3, 1, Fp::One(), std::span<Fp* const>()).code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace prover
