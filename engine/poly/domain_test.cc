#include "engine/poly/domain.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace prover {
namespace {

TEST(Domain, TablesMatchDefinitions) {
  auto d = Domain::Create(DomainKey{10, 2, 7});
  ASSERT_TRUE(d.ok());
  const Domain& dom = **d;
  EXPECT_EQ(dom.n(), 1024u);
  EXPECT_EQ(dom.blowup(), 4u);
  EXPECT_EQ(dom.log_n1() + dom.log_n2(), 10);
  for (size_t h = 1; h < 1024; h *= 2) {  // direct-path sizes keep stage twiddles up to n/2
    Fp w = Fp::RootOfUnity(std::countr_zero(2 * h));
    for (size_t j = 0; j < h; j += 7) ASSERT_EQ(dom.forward().stage[h + j], w.Pow(j));
    ASSERT_EQ(dom.inverse().stage[h + 1] * dom.forward().stage[h + 1], Fp::One());
  }
}

TEST(Domain, RejectsBadKeys) {
  EXPECT_FALSE(Domain::Create(DomainKey{30, 3, 7}).ok());
  EXPECT_FALSE(Domain::Create(DomainKey{-1, 0, 7}).ok());
  EXPECT_FALSE(Domain::Create(DomainKey{4, 1, 0}).ok());
  EXPECT_FALSE(Domain::Create(DomainKey{4, 1, Fp::kModulus}).ok());
}

TEST(DomainCache, HitsMissesAndSharing) {
  DomainCache cache(size_t{64} << 20);
  auto a = cache.Get(DomainKey{12, 1, 7});
  auto b = cache.Get(DomainKey{12, 1, 7});
  auto c = cache.Get(DomainKey{12, 1, 3});  // another offset is another domain
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_NE((*a)->coset_offset(0), (*c)->coset_offset(0));
  EXPECT_NE((*a)->coset_hi(0)[1], (*c)->coset_hi(0)[1]);
  auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.bytes, (*a)->bytes() + (*c)->bytes());
  EXPECT_FALSE(cache.Get(DomainKey{33, 0, 1}).ok());
  EXPECT_EQ(cache.stats().entries, 2u) << "a failed build must not stay in the cache";
}

TEST(DomainCache, EvictsLeastRecentlyUsedWithinBound) {
  auto probe = Domain::Create(DomainKey{14, 0, 1});
  ASSERT_TRUE(probe.ok());
  const size_t one = (*probe)->bytes();
  DomainCache cache(2 * one + one / 2);  // room for two
  ASSERT_TRUE(cache.Get(DomainKey{14, 0, 1}).ok());
  ASSERT_TRUE(cache.Get(DomainKey{14, 0, 3}).ok());
  ASSERT_TRUE(cache.Get(DomainKey{14, 0, 1}).ok());  // touch: now most recent
  auto held = cache.Get(DomainKey{14, 0, 5});        // evicts shift 3
  ASSERT_TRUE(held.ok());
  auto s = cache.stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_LE(s.bytes, cache.capacity());
  ASSERT_TRUE(cache.Get(DomainKey{14, 0, 1}).ok());
  EXPECT_EQ(cache.stats().misses, 3u) << "shift 1 should still be cached";
  ASSERT_TRUE(cache.Get(DomainKey{14, 0, 3}).ok());
  EXPECT_EQ(cache.stats().misses, 4u) << "shift 3 should have been evicted";
  // An evicted domain stays valid for whoever still holds it.
  cache.SetCapacity(0);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ((*held)->n(), size_t{1} << 14);
  EXPECT_EQ((*held)->forward().stage[1], Fp::One());
}

TEST(DomainCache, ConcurrentUseBuildsEachDomainOnce) {
  DomainCache cache(size_t{64} << 20);
  constexpr int kThreads = 8, kIters = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        DomainKey key{10 + (i + t) % 4, i % 2, 7};
        auto d = cache.Get(key);
        if (!d.ok() || (*d)->key().log_n != key.log_n ||
            (*d)->blowup() != (size_t{1} << key.log_blowup)) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto s = cache.stats();
  EXPECT_EQ(s.misses, 8u);  // 4 sizes x 2 blowups, each built exactly once
  EXPECT_EQ(s.hits + s.misses, uint64_t{kThreads} * kIters);
  EXPECT_EQ(s.entries, 8u);
}

}  // namespace
}  // namespace prover
