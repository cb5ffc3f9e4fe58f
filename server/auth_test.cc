#include "server/auth.h"

#include "gtest/gtest.h"
#include "server/sha256.h"

namespace prover::server {
namespace {

TEST(KeyRing, AuthenticatesByTheKeysHash) {
  const std::string text =
      "# comment\n\nrollup-a " + Sha256Hex("key-a") + "\nrollup-b " + Sha256Hex("key-b") + "   \n";
  auto ring = KeyRing::Parse(text, "keys.txt");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(*ring->Authenticate("Bearer key-a"), "rollup-a");
  EXPECT_EQ(*ring->Authenticate("Bearer key-b"), "rollup-b");
  for (const char* bad : {"", "Bearer ", "Bearer key-c", "key-a", "Basic key-a"}) {
    EXPECT_EQ(ring->Authenticate(bad).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

TEST(KeyRing, MalformedFilesNameTheLine) {
  const std::string h = Sha256Hex("k");
  struct Case {
    std::string text, where;
  } cases[] = {
      {"a\n", "keys:1:"},
      {"a " + h + "\nb 1234\n", "keys:2:"},
      {"a " + h + "\nb " + h + "\n", "keys:2:"},
      {"bad/tenant " + h + "\n", "keys:1:"},
      {"a " + h + " extra\n", "keys:1:"},
  };
  for (const Case& c : cases) {
    auto ring = KeyRing::Parse(c.text, "keys");
    ASSERT_FALSE(ring.ok()) << c.text;
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(ring.status().message()).rfind(c.where, 0), 0u) << ring.status();
  }
}

TEST(RateLimiter, TokenBucketPerTenant) {
  RateLimiter limiter(/*rate=*/10, /*burst=*/3);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(limiter.Allow("a", t0));
  EXPECT_TRUE(limiter.Allow("a", t0));
  EXPECT_TRUE(limiter.Allow("a", t0));
  EXPECT_FALSE(limiter.Allow("a", t0));
  EXPECT_TRUE(limiter.Allow("b", t0));  // other tenants are not affected
  EXPECT_FALSE(limiter.Allow("a", t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(limiter.Allow("a", t0 + std::chrono::milliseconds(110)));
  RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.Allow("a", t0));
}

}  // namespace
}  // namespace prover::server
