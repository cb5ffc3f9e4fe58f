#include "server/work_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "gtest/gtest.h"

namespace prover::server {
namespace {

TEST(WorkPool, RunsEverythingPostedAndRefusesBeyondItsQueue) {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> ran{0};
  {
    WorkPool pool(/*threads=*/1, /*max_queued=*/2);
    // The one thread is held by the first task; two more wait; the fourth is refused.
    ASSERT_TRUE(pool.TryPost([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return open; });
      ++ran;
    }));
    while (pool.queued() != 0) std::this_thread::yield();
    EXPECT_TRUE(pool.TryPost([&] { ++ran; }));
    EXPECT_TRUE(pool.TryPost([&] { ++ran; }));
    EXPECT_FALSE(pool.TryPost([&] { ++ran; }));
    pool.Post([&] { ++ran; });  // continuations are never refused
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }  // the destructor runs what is queued
  EXPECT_EQ(ran.load(), 4);
}

TEST(ByteBudget, TotalAndPerKeyLimitsAndRelease) {
  ByteBudget budget(/*limit=*/100, /*per_key_limit=*/60);
  auto a = budget.TryReserve("a", 50);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(budget.TryReserve("a", 11).has_value()) << "a's share is 60";
  auto b = budget.TryReserve("b", 50);
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(budget.TryReserve("c", 1).has_value()) << "the total is 100";
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(a->Resize(61));
  EXPECT_TRUE(a->Resize(10));
  EXPECT_EQ(budget.used("a"), 10u);
  auto c = budget.TryReserve("c", 40);
  ASSERT_TRUE(c.has_value());
  { ByteBudget::Lease moved = std::move(*c); }  // released when the lease goes
  EXPECT_EQ(budget.used(), 60u);
  a.reset();
  b.reset();
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.used("a"), 0u);
}

}  // namespace
}  // namespace prover::server
