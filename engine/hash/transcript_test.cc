#include "engine/hash/transcript.h"

#include <gtest/gtest.h>

#include <set>

#include "tbb/global_control.h"

namespace prover {
namespace {

Transcript Scripted(std::string_view ds) {
  Transcript t(ds);
  t.AbsorbU64("log_n", 20);
  t.AbsorbDigest("root", Keccak256(std::string_view("trace")));
  std::vector<Fp> v = {Fp::FromCanonical(1), Fp::FromCanonical(Fp::kModulus - 1)};
  t.AbsorbFp("public", v);
  return t;
}

TEST(Transcript, SameInputsSameOutputs) {
  Transcript a = Scripted("test"), b = Scripted("test");
  EXPECT_EQ(a.state(), b.state());
  EXPECT_EQ(a.ChallengeFp("alpha"), b.ChallengeFp("alpha"));
  EXPECT_EQ(a.ChallengeFp3("beta"), b.ChallengeFp3("beta"));
  EXPECT_EQ(a.ChallengeIndices("q", 30, 20), b.ChallengeIndices("q", 30, 20));
  EXPECT_EQ(a.state(), b.state());
}

TEST(Transcript, EveryInputChangesTheChallenges) {
  const Fp base = Scripted("test").ChallengeFp("alpha");
  EXPECT_NE(Scripted("other").ChallengeFp("alpha"), base) << "domain separator";
  EXPECT_NE(Scripted("test").ChallengeFp("alphb"), base) << "challenge label";
  Transcript t("test");
  t.AbsorbU64("log_n", 21);  // another value
  t.AbsorbDigest("root", Keccak256(std::string_view("trace")));
  std::vector<Fp> v = {Fp::FromCanonical(1), Fp::FromCanonical(Fp::kModulus - 1)};
  t.AbsorbFp("public", v);
  EXPECT_NE(t.ChallengeFp("alpha"), base);
  Transcript u("test");
  u.AbsorbU64("log_m", 20);  // another label
  u.AbsorbDigest("root", Keccak256(std::string_view("trace")));
  u.AbsorbFp("public", v);
  EXPECT_NE(u.ChallengeFp("alpha"), base);
  // Labels and messages are length-prefixed: moving bytes between them changes the state.
  Transcript x("t"), y("t");
  x.Absorb("ab", std::vector<uint8_t>{'c'});
  y.Absorb("a", std::vector<uint8_t>{'b', 'c'});
  EXPECT_NE(x.state(), y.state());
}

TEST(Transcript, SuccessiveChallengesDiffer) {
  Transcript t = Scripted("test");
  Fp a = t.ChallengeFp("c"), b = t.ChallengeFp("c");
  EXPECT_NE(a, b);
  Fp3 e = t.ChallengeFp3("e");
  EXPECT_FALSE(e.IsBase());
}

TEST(Transcript, IndicesInRangeAndSpread) {
  Transcript t = Scripted("test");
  auto idx = t.ChallengeIndices("q", 4000, 10);
  std::set<uint64_t> distinct(idx.begin(), idx.end());
  for (uint64_t i : idx) ASSERT_LT(i, 1024u);
  EXPECT_GT(distinct.size(), 900u);  // 4000 draws over 1024 values cover nearly all
  auto zero = t.ChallengeIndices("q0", 10, 0);
  for (uint64_t i : zero) EXPECT_EQ(i, 0u);
}

TEST(Transcript, GrindFindsTheSmallestValidNonce) {
  for (int bits : {0, 1, 4, 8, 12}) {
    Transcript t = Scripted("grind");
    const uint64_t nonce = t.Grind(bits);
    ASSERT_TRUE(t.CheckProofOfWork(bits, nonce)) << bits;
    for (uint64_t smaller = 0; smaller < nonce; ++smaller) {
      ASSERT_FALSE(t.CheckProofOfWork(bits, smaller)) << "bits " << bits << " nonce " << smaller;
    }
  }
}

TEST(Transcript, GrindingCheckRejectsWrongNonces) {
  Transcript t = Scripted("grind");
  const int bits = 14;
  const uint64_t nonce = t.Grind(bits);
  ASSERT_TRUE(t.CheckProofOfWork(bits, nonce));
  int accepted = 0;
  for (uint64_t k = 1; k <= 2000; ++k) accepted += t.CheckProofOfWork(bits, nonce + k);
  EXPECT_LE(accepted, 2) << "about 2000 / 2^14 wrong nonces should pass by chance";
  EXPECT_FALSE(t.CheckProofOfWork(65, nonce));
  EXPECT_FALSE(t.CheckProofOfWork(-1, nonce));
  // The nonce is bound to the state: after absorbing something else it no longer works
  // (with overwhelming probability for 14 bits).
  Transcript u = Scripted("grind");
  u.AbsorbU64("more", 1);
  EXPECT_NE(u.Grind(bits), nonce);
}

TEST(Transcript, GrindSameNonceWithOneAndTwoThreads) {
  Transcript t = Scripted("threads");
  uint64_t one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = t.Grind(16);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = t.Grind(16);
  }
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace prover
