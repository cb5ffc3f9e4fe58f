// JobManager alone: a fake job store (an in-memory table whose commits a test can hold or
// fail), the real CPU engine and real artifact files in a temporary directory.
#include "server/job_manager.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <set>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cuda/device_job.h"
#include "engine/backend/cuda/host_runtime.h"
#include "engine/base/failure.h"
#include "engine/testing/wrapped_backend.h"
#include "gtest/gtest.h"
#include "server/engines.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

// The table the fake keeps; shared, so that a test can reopen a manager on it ("restart").
struct FakeDb {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, JobRecord> rows;                      // with the request
  std::vector<std::pair<std::string, v1::JobState>> history;  // committed Puts in order
  bool hold = false;                                          // commits wait while set
  // Decides each change's outcome (OK when empty).
  std::function<absl::Status(const JobRecord&)> fail;

  void Hold(bool on) {
    {
      std::lock_guard<std::mutex> lock(mu);
      hold = on;
    }
    cv.notify_all();
  }
  std::vector<v1::JobState> StatesOf(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<v1::JobState> out;
    for (const auto& [job, state] : history) {
      if (job == id) out.push_back(state);
    }
    return out;
  }
  JobRecord Row(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return rows.at(id);
  }
};

class FakeJobStore final : public JobStore {
 public:
  explicit FakeJobStore(std::shared_ptr<FakeDb> db) : db_(std::move(db)) { StartWriter(); }
  ~FakeJobStore() override {
    db_->Hold(false);
    StopWriter();
  }

  absl::StatusOr<std::vector<JobRecord>> LoadAll() override {
    std::lock_guard<std::mutex> lock(db_->mu);
    std::vector<JobRecord> out;
    for (const auto& [id, r] : db_->rows) {
      JobRecord copy = r;
      copy.request_bytes = copy.request.size();
      copy.request.clear();
      out.push_back(copy);
    }
    std::sort(out.begin(), out.end(), [](const JobRecord& a, const JobRecord& b) {
      return std::tie(a.created_ms, a.id) < std::tie(b.created_ms, b.id);
    });
    return out;
  }
  absl::StatusOr<JobRecord> FindByRequest(const std::string& tenant,
                                          const std::string& request_id) override {
    std::lock_guard<std::mutex> lock(db_->mu);
    for (const auto& [id, r] : db_->rows) {
      if (r.tenant == tenant && r.request_id == request_id && !request_id.empty()) {
        JobRecord copy = r;
        copy.request_bytes = copy.request.size();
        copy.request.clear();
        return copy;
      }
    }
    return absl::NotFoundError(request_id);
  }
  absl::StatusOr<std::vector<JobRecord>> LoadJobs(const std::vector<std::string>& ids) override {
    std::lock_guard<std::mutex> lock(db_->mu);
    std::vector<JobRecord> out;
    for (const std::string& id : ids) {
      auto it = db_->rows.find(id);
      if (it == db_->rows.end()) continue;
      JobRecord copy = it->second;
      copy.request_bytes = copy.request.size();
      copy.request.clear();
      out.push_back(copy);
    }
    return out;
  }
  absl::StatusOr<std::string> LoadRequest(const std::string& id) override {
    std::lock_guard<std::mutex> lock(db_->mu);
    auto it = db_->rows.find(id);
    if (it == db_->rows.end()) return absl::NotFoundError(id);
    return it->second.request;
  }
  // Claims are the cluster's (the contract suite tests them on the real backends).
  absl::StatusOr<JobRecord> Claim(const ClaimRequest&) override {
    return absl::UnimplementedError("fake store: no claims");
  }
  absl::StatusOr<std::vector<std::string>> Heartbeat(const std::string&, int64_t,
                                                     int64_t) override {
    return absl::UnimplementedError("fake store: no leases");
  }
  absl::StatusOr<std::vector<JobRecord>> ExpireLeases(int64_t) override {
    return absl::UnimplementedError("fake store: no leases");
  }
  absl::Status Listen(ChangeListener) override {
    return absl::UnimplementedError("fake store: no listeners");
  }
  absl::StatusOr<bool> HoldHousekeeping() override { return true; }
  absl::Status PutNode(const NodeRecord&) override {
    return absl::UnimplementedError("fake store: no nodes");
  }
  absl::StatusOr<std::vector<NodeRecord>> Nodes(int64_t) override {
    return absl::UnimplementedError("fake store: no nodes");
  }
  absl::StatusOr<int> ForgetNodes(int64_t) override {
    return absl::UnimplementedError("fake store: no nodes");
  }
  int schema_version() const override { return LatestSchemaVersion(); }
  const char* kind() const override { return "fake"; }

 private:
  absl::Status CommitBatch(const std::deque<Change>& batch,
                           std::vector<absl::Status>& results) override {
    std::unique_lock<std::mutex> lock(db_->mu);
    db_->cv.wait(lock, [&] { return !db_->hold; });
    for (size_t i = 0; i < batch.size(); ++i) {
      const Change& c = batch[i];
      if (c.remove) {
        db_->rows.erase(c.record.id);
        continue;
      }
      if (c.if_queued || c.fenced) {
        auto it = db_->rows.find(c.record.id);
        const bool ok =
            it != db_->rows.end() && (c.if_queued ? it->second.state == v1::QUEUED
                                                  : it->second.state == v1::RUNNING &&
                                                        it->second.attempts == c.fence.attempt &&
                                                        it->second.lease_node == c.fence.node);
        if (!ok) {
          results[i] = absl::FailedPreconditionError("guarded write refused");
          continue;
        }
      }
      if (c.cancel) {
        auto it = db_->rows.find(c.record.id);
        if (it == db_->rows.end() || it->second.final()) {
          results[i] = absl::FailedPreconditionError("nothing to cancel");
        } else {
          it->second.cancel_requested = true;
        }
        continue;
      }
      if (db_->fail) results[i] = db_->fail(c.record);
      for (const auto& [id, other] : db_->rows) {  // the contract's unique (tenant, request id)
        if (id != c.record.id && !c.record.request_id.empty() && other.tenant == c.record.tenant &&
            other.request_id == c.record.request_id) {
          results[i] = absl::AlreadyExistsError("request id taken");
        }
      }
      if (!results[i].ok()) continue;
      auto it = db_->rows.find(c.record.id);
      JobRecord r = c.record;
      if (it != db_->rows.end()) r.request = it->second.request;  // fixed by the first write
      db_->rows[r.id] = r;
      db_->history.emplace_back(r.id, r.state);
    }
    return absl::OkStatus();
  }

  std::shared_ptr<FakeDb> db_;
};

// An engine whose jobs hang in their first step until released, deaf to stop requests:
// what the watchdog is for. Released, they go on as the CPU backend.
struct Hang {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> started{0};
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
  }
};

class HangingJob final : public testing::ForwardingJob {
 public:
  HangingJob(std::unique_ptr<backend::ProvingJob> inner, Hang* hang)
      : ForwardingJob(std::move(inner)), hang_(hang) {}
  absl::StatusOr<Digest> CommitMain(const air::Trace& trace) override {
    ++hang_->started;
    std::unique_lock<std::mutex> lock(hang_->mu);
    hang_->cv.wait(lock, [&] { return hang_->released; });
    lock.unlock();
    return ForwardingJob::CommitMain(trace);
  }

 private:
  Hang* hang_;
};

class HangingEngine final : public Engine {
 public:
  HangingEngine(Hang* hang, uint32_t slots)
      : backend_("hang", [hang](std::unique_ptr<backend::ProvingJob> job) {
          return std::unique_ptr<backend::ProvingJob>(new HangingJob(std::move(job), hang));
        }) {
    info_ = {"hang", EngineKind::kCpu, "test", uint64_t{4} << 30, slots};
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return backend_; }

 private:
  EngineInfo info_;
  testing::WrappedCpuBackend backend_;
};

// A GPU-kind engine whose jobs fail round 2 with `failure` (the CPU engine's jobs
// otherwise), standing in for a CUDA engine's faults and bugs.
class FailingGpuEngine final : public Engine {
 public:
  explicit FailingGpuEngine(absl::Status failure)
      : backend_("cuda:9", [this, failure](std::unique_ptr<backend::ProvingJob> job) {
          ++jobs_started_;
          return std::unique_ptr<backend::ProvingJob>(new Job(std::move(job), failure));
        }) {
    info_ = {"cuda:9", EngineKind::kCuda, "test", uint64_t{4} << 30, 1};
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return backend_; }
  int jobs_started() const { return jobs_started_.load(); }

 private:
  class Job final : public testing::ForwardingJob {
   public:
    Job(std::unique_ptr<backend::ProvingJob> inner, absl::Status failure)
        : ForwardingJob(std::move(inner)), failure_(std::move(failure)) {}
    absl::StatusOr<backend::AuxCommitment> CommitAux(const Fp3&, const Fp3&) override {
      return failure_;
    }

   private:
    absl::Status failure_;
  };
  EngineInfo info_;
  std::atomic<int> jobs_started_{0};
  testing::WrappedCpuBackend backend_;
};

v1::SubmitProofRequest Fib(uint32_t log_rows, std::string request_id = "") {
  v1::SubmitProofRequest r;
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(log_rows);
  r.set_request_id(std::move(request_id));
  return r;
}

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("job_manager_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    options_.data_dir = dir_;
    options_.request_limits.min_security_bits = 0;
    options_.housekeeping_interval_ms = 20;
  }
  void TearDown() override {
    hang_.Release();  // hung attempts go on, and the manager can stop
    manager_.reset();
    fs::remove_all(dir_);
  }

  void Open(std::unique_ptr<Engine> engine = nullptr) {
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(engine ? std::move(engine) : MakeCpuEngine(uint64_t{4} << 30, 1));
    OpenEngines(std::move(engines));
  }
  // Engines in order of preference.
  void OpenEngines(std::vector<std::unique_ptr<Engine>> engines) {
    manager_.reset();
    auto m = JobManager::Open(options_, std::move(engines), nullptr,
                              std::make_unique<FakeJobStore>(db_));
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = *std::move(m);
  }

  // Submits and waits for the answer.
  absl::StatusOr<v1::Job> Submit(const v1::SubmitProofRequest& r, const std::string& tenant = "t") {
    std::promise<absl::StatusOr<v1::Job>> answer;
    manager_->Submit(tenant, r, "",
                     [&](absl::StatusOr<v1::Job> j, bool) { answer.set_value(std::move(j)); });
    return answer.get_future().get();
  }

  v1::Job WaitFinal(const std::string& id, const std::string& tenant = "t") {
    for (int i = 0; i < 3000; ++i) {
      auto j = manager_->Get(tenant, id);
      EXPECT_TRUE(j.ok()) << j.status();
      if (!j.ok()) return {};
      if (j->state() == v1::SUCCEEDED || j->state() == v1::FAILED || j->state() == v1::CANCELLED) {
        return *j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " never finished";
    return {};
  }

  std::string dir_;
  ManagerOptions options_;
  std::shared_ptr<FakeDb> db_ = std::make_shared<FakeDb>();
  Hang hang_;  // HangingEngine's; outlives the manager (declared before it)
  std::unique_ptr<JobManager> manager_;
};

TEST(JobStateMachine, HasExactlyTheDocumentedEdges) {
  const v1::JobState all[] = {v1::QUEUED, v1::RUNNING, v1::SUCCEEDED, v1::FAILED, v1::CANCELLED};
  std::set<std::pair<int, int>> want = {
      {v1::QUEUED, v1::RUNNING}, {v1::RUNNING, v1::QUEUED},    {v1::QUEUED, v1::SUCCEEDED},
      {v1::QUEUED, v1::FAILED},  {v1::QUEUED, v1::CANCELLED},  {v1::RUNNING, v1::SUCCEEDED},
      {v1::RUNNING, v1::FAILED}, {v1::RUNNING, v1::CANCELLED},
  };
  for (v1::JobState from : all) {
    for (v1::JobState to : all) {
      EXPECT_EQ(JobManager::Allowed(from, to), want.count({from, to}) == 1)
          << JobStateName(from) << " -> " << JobStateName(to);
    }
  }
  // A row of an unknown state (a newer binary's) can only be failed.
  const auto unknown = static_cast<v1::JobState>(77);
  EXPECT_TRUE(JobManager::Allowed(unknown, v1::FAILED));
  EXPECT_FALSE(JobManager::Allowed(unknown, v1::QUEUED));
  EXPECT_FALSE(JobManager::Allowed(unknown, v1::RUNNING));
}

// The answer to a submission comes only after its row is committed; the row holds the
// request; the job's committed states are QUEUED, RUNNING, SUCCEEDED in that order.
TEST_F(JobManagerTest, SubmitAnswersAfterTheCommitAndEveryStateIsCommittedInOrder) {
  Open();
  db_->Hold(true);
  std::promise<absl::StatusOr<v1::Job>> answer;
  auto future = answer.get_future();
  manager_->Submit("t", Fib(10), "",
                   [&](absl::StatusOr<v1::Job> j, bool) { answer.set_value(std::move(j)); });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  db_->Hold(false);
  auto job = future.get();
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_FALSE(db_->Row(job->job_id()).request.empty());
  const v1::Job done = WaitFinal(job->job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  manager_->FlushStore();
  EXPECT_EQ(db_->StatesOf(job->job_id()),
            (std::vector<v1::JobState>{v1::QUEUED, v1::RUNNING, v1::SUCCEEDED}));
  EXPECT_EQ(db_->Row(job->job_id()).attempts, 1u);
}

// A submission whose row cannot be committed fails UNAVAILABLE and leaves nothing behind:
// not the job, not its request id, not the tenant's queue slot.
TEST_F(JobManagerTest, AFailedCommitFailsTheSubmissionAndReleasesItsReservation) {
  options_.max_queued_per_tenant = 1;
  Open();
  db_->fail = [](const JobRecord&) { return absl::UnavailableError("disk on fire"); };
  auto refused = Submit(Fib(10, "rid"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  db_->fail = nullptr;
  auto job = Submit(Fib(10, "rid"));  // the same request id: a new job, the slot is free
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(WaitFinal(job->job_id()).state(), v1::SUCCEEDED);
  v1::ListJobsRequest all;
  EXPECT_EQ(manager_->List("t", all)->jobs_size(), 1);
}

// The RUNNING row must be committed before the job runs; when it cannot be, the job stays
// QUEUED (for clients too) and runs later, with one attempt counted.
TEST_F(JobManagerTest, ARunningRowThatCannotBeCommittedLeavesTheJobQueued) {
  std::atomic<int> refusals{0};
  Open();
  db_->fail = [&](const JobRecord& r) {
    if (r.state == v1::RUNNING && refusals < 2) {
      ++refusals;
      return absl::UnavailableError("the database is away");
    }
    return absl::OkStatus();
  };
  auto job = Submit(Fib(10));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = WaitFinal(job->job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_EQ(refusals.load(), 2);
  EXPECT_EQ(done.attempts(), 1u);
  manager_->FlushStore();
  EXPECT_EQ(db_->StatesOf(job->job_id()),
            (std::vector<v1::JobState>{v1::QUEUED, v1::RUNNING, v1::SUCCEEDED}));
}

// Start-up over rows a dead process left: a RUNNING row is requeued (a crash counted) and
// runs, one that reached --max-crashes is FAILED(QUARANTINED), a QUEUED row with a durable
// cancel is CANCELLED, a row of an unknown state is FAILED(INTERNAL).
TEST_F(JobManagerTest, RecoverySettlesWhatADeadProcessLeft) {
  options_.max_crashes = 3;
  Open();
  auto a = Submit(Fib(10, "a"));
  auto b = Submit(Fib(10, "b"));
  auto c = Submit(Fib(10, "c"));
  auto d = Submit(Fib(10, "d"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  for (const auto& j : {*a, *b, *c, *d}) WaitFinal(j.job_id());
  manager_.reset();
  {
    std::lock_guard<std::mutex> lock(db_->mu);
    auto& ra = db_->rows.at(a->job_id());
    ra.state = v1::RUNNING;
    ra.crashes = 0;
    auto& rb = db_->rows.at(b->job_id());
    rb.state = v1::RUNNING;
    rb.crashes = 2;
    auto& rc = db_->rows.at(c->job_id());
    rc.state = v1::QUEUED;
    rc.cancel_requested = true;
    db_->rows.at(d->job_id()).state = static_cast<v1::JobState>(77);
  }
  Open();
  const v1::Job ja = WaitFinal(a->job_id());
  EXPECT_EQ(ja.state(), v1::SUCCEEDED) << ja.error();
  const v1::Job jb = WaitFinal(b->job_id());
  EXPECT_EQ(jb.state(), v1::FAILED);
  EXPECT_EQ(jb.cause(), v1::QUARANTINED);
  EXPECT_EQ(WaitFinal(c->job_id()).state(), v1::CANCELLED);
  const v1::Job jd = WaitFinal(d->job_id());
  EXPECT_EQ(jd.state(), v1::FAILED);
  EXPECT_EQ(jd.cause(), v1::INTERNAL);
  manager_->FlushStore();
  EXPECT_EQ(db_->Row(a->job_id()).crashes, 1u);
  EXPECT_EQ(db_->Row(b->job_id()).crashes, 3u);
}

// A row the process does not know holds the request id (a submission whose commit was
// reported lost but happened): a new submission of the same content adopts it, answered as
// a duplicate, and it runs; another content is ALREADY_EXISTS.
TEST_F(JobManagerTest, ASubmissionAdoptsTheRowOfALostCommit) {
  Open();
  auto first = Submit(Fib(10, "one"));
  ASSERT_TRUE(first.ok()) << first.status();
  WaitFinal(first->job_id());
  manager_->FlushStore();
  {
    std::lock_guard<std::mutex> lock(db_->mu);
    JobRecord ghost = db_->rows.at(first->job_id());
    ghost.id = "jghost";
    ghost.request_id = "two";
    ghost.state = v1::QUEUED;
    ghost.attempts = 0;
    ghost.proof_sha256.clear();
    ghost.proof_bytes = 0;
    db_->rows[ghost.id] = ghost;
  }
  std::promise<std::pair<absl::StatusOr<v1::Job>, bool>> answer;
  manager_->Submit("t", Fib(10, "two"), "", [&](absl::StatusOr<v1::Job> j, bool dedup) {
    answer.set_value({std::move(j), dedup});
  });
  auto [job, deduplicated] = answer.get_future().get();
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->job_id(), "jghost");
  EXPECT_TRUE(deduplicated);
  const v1::Job done = WaitFinal("jghost");
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  auto other = Submit(Fib(11, "two"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
  v1::ListJobsRequest all;
  EXPECT_EQ(manager_->List("t", all)->jobs_size(), 2);
}

// A cancel is answered once it is durable; a queued job is CANCELLED without running.
TEST_F(JobManagerTest, ACancelIsAnsweredAfterItsCommit) {
  options_.max_running_per_tenant = 1;
  Open();
  auto big = Submit(Fib(18));
  auto queued = Submit(Fib(10));
  ASSERT_TRUE(big.ok() && queued.ok());
  db_->Hold(true);
  std::promise<absl::StatusOr<v1::Job>> answer;
  auto future = answer.get_future();
  manager_->Cancel("t", queued->job_id(),
                   [&](absl::StatusOr<v1::Job> j) { answer.set_value(std::move(j)); });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  db_->Hold(false);
  auto cancelled = future.get();
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(WaitFinal(queued->job_id()).state(), v1::CANCELLED);
  EXPECT_EQ(WaitFinal(big->job_id()).state(), v1::SUCCEEDED);
  manager_->FlushStore();
  for (v1::JobState s : db_->StatesOf(queued->job_id())) EXPECT_NE(s, v1::RUNNING);
  std::promise<absl::StatusOr<v1::Job>> other;
  manager_->Cancel("u", queued->job_id(),
                   [&](absl::StatusOr<v1::Job> j) { other.set_value(std::move(j)); });
  EXPECT_EQ(other.get_future().get().status().code(), absl::StatusCode::kNotFound);
}

// The watchdog: a job whose stage does not move for stuck_timeout_ms is stopped and
// requeued; once it has had max_attempts attempts it is FAILED(STALLED). The attempts here
// hang and ignore the stop; when they finally go on, everything they write is fenced off:
// the job's rows are exactly the state machine's.
TEST_F(JobManagerTest, AStuckJobIsRequeuedThenFailedAsStalled) {
  options_.stuck_timeout_ms = 100;
  options_.housekeeping_interval_ms = 10;
  options_.max_attempts = 2;
  Open(std::make_unique<HangingEngine>(&hang_, /*slots=*/2));
  auto job = Submit(Fib(10));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = WaitFinal(job->job_id());
  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.cause(), v1::STALLED) << done.error();
  EXPECT_EQ(done.attempts(), 2u);
  EXPECT_NE(done.error().find("no progress"), std::string::npos) << done.error();
  EXPECT_EQ(hang_.started.load(), 2);
  // The hung attempts wake and run to their end: nothing they do changes the job.
  hang_.Release();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  manager_->FlushStore();
  EXPECT_EQ(
      db_->StatesOf(job->job_id()),
      (std::vector<v1::JobState>{v1::QUEUED, v1::RUNNING, v1::QUEUED, v1::RUNNING, v1::FAILED}));
  const v1::Job later = *manager_->Get("t", job->job_id());
  EXPECT_EQ(later.state(), v1::FAILED);
  EXPECT_EQ(later.cause(), v1::STALLED);
}

// A stuck job whose deadline has passed fails as DEADLINE_EXCEEDED, even when its attempt
// does not heed the stop.
TEST_F(JobManagerTest, AStuckJobPastItsDeadlineFailsAsDeadlineExceeded) {
  options_.stuck_timeout_ms = 300;
  options_.housekeeping_interval_ms = 10;
  Open(std::make_unique<HangingEngine>(&hang_, /*slots=*/1));
  v1::SubmitProofRequest r = Fib(10);
  r.set_deadline_ms(100);
  auto job = Submit(r);
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = WaitFinal(job->job_id());
  EXPECT_EQ(done.state(), v1::FAILED);
  EXPECT_EQ(done.cause(), v1::DEADLINE_EXCEEDED) << done.error();
}

// Progress keeps the watchdog away: a job whose stages move finishes in one attempt.
TEST_F(JobManagerTest, AJobThatMovesIsNotStuck) {
  options_.stuck_timeout_ms = 5000;
  options_.housekeeping_interval_ms = 10;
  options_.max_attempts = 1;
  Open();
  auto job = Submit(Fib(16));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = WaitFinal(job->job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_EQ(done.attempts(), 1u);
}

// The CUDA engine over the host runtime (engine/backend/cuda/host_runtime.h): its own
// device code, with CUDA errors injected into the runtime's calls.
class EmulatedGpuEngine final : public Engine {
 public:
  EmulatedGpuEngine() : backend_(backend::cuda::MakeEmulatedCudaBackend(&runtime_)) {
    info_ = {"cuda:9", EngineKind::kCuda, "emulated", uint64_t{4} << 30, 1};
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return counting_; }
  backend::cuda::HostRuntime& runtime() { return *runtime_; }
  int jobs_started() const { return counting_.started.load(); }

 private:
  struct Counting final : backend::Backend {
    explicit Counting(backend::Backend& inner) : inner(inner) {}
    std::string_view name() const override { return inner.name(); }
    absl::StatusOr<std::unique_ptr<backend::ProvingJob>> StartJob(
        const backend::JobSpec& spec) override {
      ++started;
      return inner.StartJob(spec);
    }
    uint64_t EstimatePeakBytes(const backend::JobSpec& spec) const override {
      return inner.EstimatePeakBytes(spec);
    }
    backend::Backend& inner;
    std::atomic<int> started{0};
  };
  EngineInfo info_;
  std::shared_ptr<backend::cuda::HostRuntime> runtime_;
  std::unique_ptr<backend::cuda::CudaBackend> backend_;
  Counting counting_{*backend_};
};

// A CUDA call of a job failing (not sticky): that job reruns on the CPU and is counted, and
// the next job on the same engine proves there (no stale error fails it).
TEST_F(JobManagerTest, AFailingCudaCallRerunsItsJobOnTheCpuAndTheNextJobUsesTheGpu) {
  auto gpu = std::make_unique<EmulatedGpuEngine>();
  gpu->runtime().FailCall(10, backend::cuda::rt::kInvalidValue);
  EmulatedGpuEngine* g = gpu.get();
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::move(gpu));
  engines.push_back(MakeCpuEngine(uint64_t{4} << 30, 1));
  OpenEngines(std::move(engines));
  auto first = Submit(Fib(6));
  ASSERT_TRUE(first.ok()) << first.status();
  const v1::Job a = WaitFinal(first->job_id());
  EXPECT_EQ(a.state(), v1::SUCCEEDED) << a.error();
  EXPECT_EQ(a.engine(), "cpu") << "rerun on the CPU";
  EXPECT_EQ(a.attempts(), 2u);
  EXPECT_TRUE(g->runtime().injected());
  auto second = Submit(Fib(7));
  ASSERT_TRUE(second.ok()) << second.status();
  const v1::Job b = WaitFinal(second->job_id());
  EXPECT_EQ(b.state(), v1::SUCCEEDED) << b.error();
  EXPECT_EQ(b.engine(), "cuda:9") << "the engine is unaffected by the earlier fault";
  for (const Scheduler::EngineStats& e : manager_->engines()) {
    EXPECT_EQ(e.out_of_service, "") << e.info.name;
    EXPECT_EQ(e.running, 0u) << e.info.name;
    EXPECT_EQ(e.reserved_bytes, 0u) << e.info.name << ": the budget is returned";
  }
}

// A lost device (a sticky CUDA error, an illegal address in a kernel) takes its engine out
// of service for good: the job it failed reruns on the CPU, later jobs never reach it, and
// the engine list (GetServerInfo) and the live figures (prover_engine_in_service) say so.
TEST_F(JobManagerTest, ALostDeviceTakesItsEngineOutOfService) {
  auto gpu = std::make_unique<EmulatedGpuEngine>();
  gpu->runtime().FailCall(30, backend::cuda::rt::kIllegalAddress);
  const EmulatedGpuEngine* g = gpu.get();
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::move(gpu));
  engines.push_back(MakeCpuEngine(uint64_t{4} << 30, 1));
  OpenEngines(std::move(engines));
  for (uint32_t log_rows : {6u, 7u, 8u}) {
    auto job = Submit(Fib(log_rows));
    ASSERT_TRUE(job.ok()) << job.status();
    const v1::Job done = WaitFinal(job->job_id());
    EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
    EXPECT_EQ(done.engine(), "cpu");
  }
  EXPECT_EQ(g->jobs_started(), 1) << "only the first job reached the lost GPU";
  bool saw_gpu = false;
  for (const Scheduler::EngineStats& e : manager_->engines()) {
    if (e.info.name == "cuda:9") {
      saw_gpu = true;
      EXPECT_NE(e.out_of_service.find("cudaErrorIllegalAddress"), std::string::npos)
          << e.out_of_service;
    } else {
      EXPECT_EQ(e.out_of_service, "") << e.info.name;
    }
  }
  EXPECT_TRUE(saw_gpu);
  for (const LiveStats::Engine& e : manager_->Live().engines) {
    EXPECT_EQ(e.in_service, e.name != "cuda:9") << e.name;
  }
}

// The kind of an engine's failure decides the job's cause and whether the CPU engine
// reruns what a GPU failed: a device fault, a shortage of device memory and a bug (an
// out-of-order call, say: FAILED_PRECONDITION, which is not a broken trace) are rerun and
// succeed there; an unprovable statement fails on every engine alike and is not.
TEST_F(JobManagerTest, AGpuFailureIsRerunOnTheCpuByItsKind) {
  struct Case {
    absl::Status failure;
    bool rerun;
  };
  const Case cases[] = {
      {WithFailureKind(absl::InternalError("cuda: an illegal memory access"),
                       FailureKind::kDeviceFault),
       true},
      {WithFailureKind(absl::ResourceExhaustedError("cuda: out of memory"),
                       FailureKind::kResources),
       true},
      {WithFailureKind(absl::FailedPreconditionError("CommitAux called; the job expects ..."),
                       FailureKind::kBug),
       true},
      {absl::FailedPreconditionError("an unmarked failure"), true},
      {WithFailureKind(absl::FailedPreconditionError("logup: a fingerprint vanishes"),
                       FailureKind::kUnprovable),
       false},
  };
  for (const Case& c : cases) {
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(std::make_unique<FailingGpuEngine>(c.failure));
    engines.push_back(MakeCpuEngine(uint64_t{4} << 30, 1));
    OpenEngines(std::move(engines));
    auto job = Submit(Fib(6));
    ASSERT_TRUE(job.ok()) << job.status();
    const v1::Job done = WaitFinal(job->job_id());
    if (c.rerun) {
      EXPECT_EQ(done.state(), v1::SUCCEEDED) << c.failure << ": " << done.error();
      EXPECT_EQ(done.engine(), "cpu") << c.failure;
    } else {
      EXPECT_EQ(done.state(), v1::FAILED) << c.failure;
      // A statement no engine can prove with these options: the input's, not a bug.
      EXPECT_EQ(done.cause(), v1::INVALID_INPUT) << c.failure;
      EXPECT_NE(done.error().find("other options"), std::string::npos) << done.error();
      EXPECT_EQ(done.engine(), "cuda:9") << c.failure;
    }
  }
}

}  // namespace
}  // namespace prover::server
