#include "server/scheduler.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "engine/backend/cpu/cpu_backend.h"
#include "gtest/gtest.h"

namespace prover::server {
namespace {

// A real engine description around the CPU backend; the run function below decides what
// "running" means for the policy under test.
class TestEngine : public Engine {
 public:
  TestEngine(std::string name, EngineKind kind, uint64_t budget, uint32_t slots)
      : backend_(backend::MakeCpuBackend()) {
    info_ = {std::move(name), kind, "test", budget, slots};
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return *backend_; }

 private:
  EngineInfo info_;
  std::unique_ptr<backend::Backend> backend_;
};

// Jobs block until released, so the test sees dispatch decisions one by one.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> started;  // (job, engine)
  std::set<std::string> released;
  void WaitStarted(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started.size() >= n; }));
  }
  void Release(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    released.insert(id);
    cv.notify_all();
  }
};

Scheduler::RunFn Blocking(Gate& g, std::function<RunOutcome(const QueuedJob&, Engine&)> then = {}) {
  return [&g, then](const QueuedJob& j, Engine& e) {
    std::unique_lock<std::mutex> lock(g.mu);
    g.started.push_back({j.id, e.info().name});
    g.cv.notify_all();
    g.cv.wait(lock, [&] { return g.released.count(j.id) > 0; });
    lock.unlock();
    return then ? then(j, e) : RunOutcome::kDone;
  };
}

std::vector<std::unique_ptr<Engine>> OneCpu(uint64_t budget = 100, uint32_t slots = 1) {
  std::vector<std::unique_ptr<Engine>> v;
  v.push_back(std::make_unique<TestEngine>("cpu", EngineKind::kCpu, budget, slots));
  return v;
}

TEST(Scheduler, FairnessBetweenTenantsPriorityWithinOne) {
  Gate g;
  Scheduler s(OneCpu(), 4, Blocking(g));
  s.Enqueue({"blocker", "a", 0, 0, 1, false});
  g.WaitStarted(1);
  // Tenant a floods, tenant b submits later; then one high-priority job of a.
  for (int i = 0; i < 3; ++i) s.Enqueue({"a" + std::to_string(i), "a", 0, 10 + i, 1, false});
  s.Enqueue({"b0", "b", 0, 20, 1, false});
  s.Enqueue({"b1", "b", 0, 21, 1, false});
  s.Enqueue({"urgent", "a", 5, 30, 1, false});
  std::vector<std::string> order;
  std::string current = "blocker";
  for (int i = 0; i < 6; ++i) {
    g.Release(current);
    g.WaitStarted(size_t(i) + 2);
    std::lock_guard<std::mutex> lock(g.mu);
    current = g.started.back().first;
    order.push_back(current);
  }
  g.Release(current);
  // b (served least recently) first, then the tenants alternate; a's urgent job leads a's
  // own jobs but does not overtake b.
  EXPECT_EQ(order, (std::vector<std::string>{"b0", "urgent", "b1", "a0", "a1", "a2"}));
}

// One tenant's high-priority burst does not make another tenant's job wait behind it.
TEST(Scheduler, AHighPriorityBurstDoesNotStarveAnotherTenant) {
  Gate g;
  Scheduler s(OneCpu(), 4, Blocking(g));
  s.Enqueue({"blocker", "a", 100, 0, 1, false});
  g.WaitStarted(1);
  for (int i = 0; i < 20; ++i) s.Enqueue({"a" + std::to_string(i), "a", 100, 10 + i, 1, false});
  s.Enqueue({"b", "b", 0, 100, 1, false});
  g.Release("blocker");
  g.WaitStarted(2);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[1].first, "b");
  }
  for (int i = 0; i < 20; ++i) g.Release("a" + std::to_string(i));
  g.Release("b");
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
}

// A retry after a shortage (disk, descriptors) waits kRetryDelayMs, and lets other jobs run
// meanwhile.
TEST(Scheduler, RetryLaterWaitsItsDelay) {
  Gate g;
  std::atomic<int> runs{0};
  Scheduler s(OneCpu(), 4, Blocking(g, [&](const QueuedJob& j, Engine&) {
                return j.id == "flaky" && runs++ == 0 ? RunOutcome::kRetryLater : RunOutcome::kDone;
              }));
  s.Enqueue({"flaky", "a", 0, 1, 1, false});
  g.WaitStarted(1);
  const auto t0 = std::chrono::steady_clock::now();
  g.Release("flaky");
  s.Enqueue({"other", "a", 0, 2, 1, false});
  g.WaitStarted(2);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[1].first, "other");
    g.released.erase("flaky");
  }
  g.Release("other");
  // Nothing runs the retry before its time; Poke as the job manager's housekeeping does.
  while (true) {
    s.Poke();
    {
      std::lock_guard<std::mutex> lock(g.mu);
      if (g.started.size() == 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(kRetryDelayMs));
  g.Release("flaky");
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
}

TEST(Scheduler, MemoryAdmissionAndBackfill) {
  Gate g;
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(
      std::make_unique<TestEngine>("cpu", EngineKind::kCpu, /*budget=*/100, /*slots=*/4));
  Scheduler s(std::move(engines), 8, Blocking(g));
  EXPECT_TRUE(s.Fits(100));
  EXPECT_FALSE(s.Fits(101));
  s.Enqueue({"big1", "a", 0, 1, 60, false});
  g.WaitStarted(1);
  s.Enqueue({"big2", "a", 0, 2, 60, false});   // does not fit next to big1
  s.Enqueue({"small", "a", 0, 3, 30, false});  // does: backfills
  g.WaitStarted(2);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[1].first, "small");
  }
  auto st = s.stats();
  EXPECT_EQ(st.queued, 1u);
  EXPECT_EQ(st.engines[0].reserved_bytes, 90u);
  g.Release("big1");
  g.WaitStarted(3);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[2].first, "big2");
  }
  g.Release("small");
  g.Release("big2");
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(s.stats().engines[0].reserved_bytes, 0u);
}

TEST(Scheduler, PerTenantRunningLimit) {
  Gate g;
  Scheduler s(OneCpu(100, 3), /*max_running_per_tenant=*/1, Blocking(g));
  s.Enqueue({"a0", "a", 0, 1, 1, false});
  s.Enqueue({"a1", "a", 0, 2, 1, false});
  s.Enqueue({"b0", "b", 0, 3, 1, false});
  g.WaitStarted(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started.size(), 2u);  // a1 waits although a slot is free
  }
  g.Release("a0");
  g.WaitStarted(3);
  for (const char* id : {"a1", "b0"}) g.Release(id);
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
}

TEST(Scheduler, GpuFailureRerunsOnTheCpu) {
  Gate g;
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::make_unique<TestEngine>("cuda:0", EngineKind::kCuda, 100, 1));
  engines.push_back(std::make_unique<TestEngine>("cpu", EngineKind::kCpu, 100, 1));
  Scheduler s(std::move(engines), 4, Blocking(g, [](const QueuedJob&, Engine& e) {
                return e.info().kind == EngineKind::kCuda ? RunOutcome::kRetryOnCpu
                                                          : RunOutcome::kDone;
              }));
  s.Enqueue({"j", "a", 0, 1, 1, false});
  g.WaitStarted(1);
  g.Release("j");
  g.WaitStarted(2);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[0], (std::pair<std::string, std::string>{"j", "cuda:0"}));
    EXPECT_EQ(g.started[1], (std::pair<std::string, std::string>{"j", "cpu"}));
  }
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
  // Jobs larger than the GPU go straight to the CPU.
  EXPECT_TRUE(s.Fits(100, /*cpu_only=*/true));
}

// An engine out of service takes no job and counts for nothing: dispatch, Fits and the
// cluster's claim size (ClaimableBytes) skip it; jobs only it could hold stay queued.
TEST(Scheduler, AnEngineOutOfServiceTakesNothing) {
  Gate g;
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::make_unique<TestEngine>("cuda:0", EngineKind::kCuda, 1000, 1));
  engines.push_back(std::make_unique<TestEngine>("cpu", EngineKind::kCpu, 100, 1));
  Scheduler s(std::move(engines), 4, Blocking(g));
  EXPECT_EQ(ClaimableBytes(s.stats()), 1000u);
  EXPECT_TRUE(s.Fits(500));
  const Engine* gpu = s.engines()[0];
  EXPECT_TRUE(s.TakeOutOfService(gpu, "cuda: an illegal memory access was encountered"));
  EXPECT_FALSE(s.TakeOutOfService(nullptr, "x")) << "not one of its engines";
  EXPECT_EQ(ClaimableBytes(s.stats()), 100u) << "the CPU's budget alone";
  EXPECT_FALSE(s.Fits(500)) << "only the lost GPU could hold it";
  EXPECT_TRUE(s.Fits(100));
  s.Enqueue({"small", "a", 0, 1, 10, false});
  g.WaitStarted(1);
  {
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.started[0], (std::pair<std::string, std::string>{"small", "cpu"}));
  }
  const Scheduler::Stats st = s.stats();
  EXPECT_EQ(st.engines[0].out_of_service, "cuda: an illegal memory access was encountered");
  EXPECT_EQ(st.engines[1].out_of_service, "");
  EXPECT_EQ(ClaimableBytes(st), 0u) << "the CPU's one slot is taken";
  g.Release("small");
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
}

TEST(Scheduler, RemoveOnlyQueuedJobs) {
  Gate g;
  Scheduler s(OneCpu(), 4, Blocking(g));
  s.Enqueue({"run", "a", 0, 1, 1, false});
  g.WaitStarted(1);
  s.Enqueue({"wait", "a", 0, 2, 1, false});
  EXPECT_FALSE(s.Remove("run"));
  EXPECT_TRUE(s.Remove("wait"));
  EXPECT_FALSE(s.Remove("wait"));
  EXPECT_EQ(s.stats().queued, 0u);
  g.Release("run");
  EXPECT_TRUE(s.WaitIdle(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace prover::server
