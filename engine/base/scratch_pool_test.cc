#include "engine/base/scratch_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace prover {
namespace {

TEST(ScratchPool, ReusesReleasedBuffers) {
  ScratchPool pool(size_t{64} << 20);
  uint64_t* first;
  {
    auto lease = pool.Acquire(1000);
    ASSERT_GE(lease.size_words(), 1000u);
    first = lease.words();
    lease.words()[999] = 42;  // writable
  }
  EXPECT_EQ(pool.stats().idle_bytes, 1000 * sizeof(uint64_t));
  {
    auto again = pool.Acquire(500);  // fits in the idle one
    EXPECT_EQ(again.words(), first);
    auto other = pool.Acquire(500);  // the idle one is taken: a new buffer
    EXPECT_NE(other.words(), first);
  }
  auto s = pool.stats();
  EXPECT_EQ(s.reuses, 1u);
  EXPECT_EQ(s.allocations, 2u);
  pool.Trim();
  EXPECT_EQ(pool.stats().idle_bytes, 0u);
}

TEST(ScratchPool, IdleBytesStayWithinTheBound) {
  ScratchPool pool(10000 * sizeof(uint64_t));
  {
    auto a = pool.Acquire(6000);
    auto b = pool.Acquire(3000);
    auto c = pool.Acquire(2000);
    auto too_big = pool.Acquire(20000);
  }
  auto s = pool.stats();
  EXPECT_LE(s.idle_bytes, 10000 * sizeof(uint64_t));
  // Released c, b, a: c, idle the longest, is dropped.
  EXPECT_EQ(s.idle_bytes, (6000 + 3000) * sizeof(uint64_t));
}

// The buffer idle the longest goes first, even when it is the biggest.
TEST(ScratchPool, DropsTheBuffersIdleTheLongest) {
  ScratchPool pool(10000 * sizeof(uint64_t));
  {
    auto recent = pool.Acquire(3000);
    { auto old = pool.Acquire(8000); }  // idle first
  }                                     // recent released last: 11000 idle words, over the bound
  auto s = pool.stats();
  EXPECT_EQ(s.idle_bytes, 3000 * sizeof(uint64_t));
  auto again = pool.Acquire(3000);
  EXPECT_EQ(pool.stats().reuses, s.reuses + 1);
}

TEST(ScratchPool, ConcurrentLeases) {
  ScratchPool pool(size_t{16} << 20);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto lease = pool.Acquire(100 + (i * 37 + t) % 4000);
        for (size_t k = 0; k < 100; ++k) lease.words()[k] = t;
        for (size_t k = 0; k < 100; ++k) bad += lease.words()[k] != static_cast<uint64_t>(t);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0) << "two threads shared a leased buffer";
  auto s = pool.stats();
  EXPECT_EQ(s.reuses + s.allocations, 1600u);
}

}  // namespace
}  // namespace prover
