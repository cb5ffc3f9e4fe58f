// Cluster mode against real processes: three proverd nodes on loopback, one PostgreSQL
// database of the test run's server (scripts/test.sh starts it) and one shared data
// directory. Any node serves any call for any job; a node that dies or is paused loses its
// claims when their leases expire, and another node finishes the jobs; late writes are
// fenced and counted.
#include <future>
#include <thread>

#include "tests/service_fixture.h"

namespace prover {
namespace {

v1::Job Submit(const v1::SubmitProofRequest& r, ProverClient* c) {
  auto resp = c->Submit(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? resp->job() : v1::Job();
}

// The sum of every series of a family whose labels contain `has` ("" : all).
double SumMetric(const std::string& text, const std::string& family, const std::string& has = "") {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(family, 0) != 0 || line.find(has) == std::string::npos) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// A proof whose proof of work takes a few seconds on this machine (the nonce is the
// smallest valid one, so the work is the same on every run): long enough to kill, pause or
// cancel its node in the middle, short enough to finish on another node.
v1::SubmitProofRequest Slow(std::string request_id = "") {
  v1::SubmitProofRequest r = Fib(11, std::move(request_id));
  r.mutable_options()->set_grinding_bits(26);
  return r;
}

class ClusterTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;

  void SetUp() override { StartNodes(testing::NewPostgresDatabase("cluster")); }
  void StartNodes(const std::string& database, std::vector<std::string> extra = {}) {
    for (auto& n : nodes_) n->Kill();
    nodes_.clear();
    alpha_.clear();
    beta_.clear();
    dir_ = TempDir("cluster");
    database_ = database;
    for (int i = 0; i < kNodes; ++i) {
      const std::string name = std::string(1, char('a' + i));
      std::vector<std::string> flags = {
          "--api-keys", KeysFile(dir_), "--rate-limit", "0",         "--database", database_,
          "--cluster",  "--node-id",    "node-" + name, "--lease-s", "1"};
      flags.insert(flags.end(), extra.begin(), extra.end());
      nodes_.push_back(
          std::make_unique<ProverdProcess>(dir_ + "/data", flags, dir_ + "/node-" + name));
      ASSERT_TRUE(nodes_.back()->Start()) << nodes_.back()->Log();
      alpha_.push_back(nodes_.back()->Client(kAlpha));
      beta_.push_back(nodes_.back()->Client(kBeta));
    }
  }
  void TearDown() override {
    for (auto& n : nodes_) {
      if (HasFailure()) std::fprintf(stderr, "%s log:\n%s\n", "node", n->Log().c_str());
      n->Resume();
      n->Kill();
    }
  }

  // The index of the node whose id is `id` ("node-b": 1).
  static int IndexOf(const std::string& id) { return id.empty() ? -1 : id.back() - 'a'; }

  // Waits until the job is RUNNING on some node in attempt `attempt` or a later one, asking
  // node `via`; the holder's index.
  int WaitHeld(const std::string& job_id, int via = 0, uint32_t attempt = 1) {
    for (int i = 0; i < 3000; ++i) {
      auto j = alpha_[via]->GetJob(job_id);
      if (j.ok() && j->state() == v1::RUNNING && !j->node().empty() && j->attempts() >= attempt) {
        return IndexOf(j->node());
      }
      if (j.ok() && IsFinal(*j)) {
        ADD_FAILURE() << "the job ended before it could be caught running: "
                      << v1::JobState_Name(j->state());
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "the job never ran";
    return -1;
  }

  double Metric(int node, const std::string& family, const std::string& has = "") {
    return SumMetric(HttpGet(nodes_[node]->metrics_address(), "/metrics"), family, has);
  }

  std::string dir_, database_;
  std::vector<std::unique_ptr<ProverdProcess>> nodes_;
  std::vector<std::unique_ptr<ProverClient>> alpha_, beta_;
};

// Submit on one node, watch on another, fetch from a third: the proof verifies. Every node
// lists the three nodes; another tenant sees nothing of the job on any node.
TEST_F(ClusterTest, AnyNodeServesAnyCallForAnyJob) {
  auto info = alpha_[1]->ServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->node_id(), "node-b");
  for (int tries = 0; info->nodes_size() < kNodes && tries < 100; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    info = alpha_[1]->ServerInfo();
  }
  ASSERT_EQ(info->nodes_size(), kNodes);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(info->nodes(i).id(), std::string("node-") + char('a' + i));
    EXPECT_EQ(info->nodes(i).address(), nodes_[i]->grpc_address());
    EXPECT_FALSE(info->nodes(i).draining());
  }

  const v1::Job job = Submit(Fib(12), alpha_[0].get());
  std::vector<v1::JobState> seen;
  const absl::Status watched =
      alpha_[1]->Watch(job.job_id(), [&](const v1::Job& j) { seen.push_back(j.state()); });
  ASSERT_TRUE(watched.ok()) << watched;
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), v1::SUCCEEDED);
  auto proof = alpha_[2]->FetchProof(job.job_id());
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyFib(12, *proof).ok());
  auto final = alpha_[2]->GetJob(job.job_id());
  ASSERT_TRUE(final.ok());
  EXPECT_EQ(final->attempts(), 1u);
  EXPECT_TRUE(final->node().empty()) << "a final job holds no lease";

  // Tenant isolation and listing, on every node.
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(beta_[i]->GetJob(job.job_id()).status().code(), absl::StatusCode::kNotFound);
    v1::ListJobsRequest all;
    auto mine = alpha_[i]->List(all);
    ASSERT_TRUE(mine.ok());
    ASSERT_EQ(mine->jobs_size(), 1) << "node " << i;
    EXPECT_EQ(mine->jobs(0).job_id(), job.job_id());
    EXPECT_EQ(beta_[i]->List(all)->jobs_size(), 0);
  }
}

// The same request id on two nodes at once makes one job; other content under that id is
// refused on any node.
TEST_F(ClusterTest, ARequestIdMakesOneJobAcrossNodes) {
  for (int round = 0; round < 5; ++round) {
    const std::string rid = "same-" + std::to_string(round);
    auto a = std::async(std::launch::async, [&] { return alpha_[0]->Submit(Fib(10, rid)); });
    auto b = std::async(std::launch::async, [&] { return alpha_[1]->Submit(Fib(10, rid)); });
    auto ra = a.get(), rb = b.get();
    ASSERT_TRUE(ra.ok()) << ra.status();
    ASSERT_TRUE(rb.ok()) << rb.status();
    EXPECT_EQ(ra->job().job_id(), rb->job().job_id()) << "round " << round;
    EXPECT_NE(ra->deduplicated(), rb->deduplicated()) << "exactly one is the original";
    auto other = alpha_[2]->Submit(Fib(11, rid));
    EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
  }
  v1::ListJobsRequest all;
  EXPECT_EQ(alpha_[2]->List(all)->jobs_size(), 5);
}

// A cancel sent to one node stops the job running on another, durably.
TEST_F(ClusterTest, ACancelReachesTheNodeRunningTheJob) {
  const v1::Job job = Submit(Slow(), alpha_[0].get());
  const int holder = WaitHeld(job.job_id());
  ASSERT_GE(holder, 0);
  const int other = (holder + 1) % kNodes;
  const auto t0 = std::chrono::steady_clock::now();
  auto cancelled = alpha_[other]->Cancel(job.job_id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  auto final = alpha_[other]->WaitFinal(job.job_id(), std::chrono::seconds(30));
  ASSERT_TRUE(final.ok()) << final.status();
  EXPECT_EQ(final->state(), v1::CANCELLED);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  for (int i = 0; i < kNodes; ++i) {
    auto j = alpha_[i]->WaitFinal(job.job_id(), std::chrono::seconds(5));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->state(), v1::CANCELLED) << "node " << i;
  }
}

// kill -9 of the node running a job: its lease expires, another node claims the job and
// finishes it (attempt 2); the proof verifies.
TEST_F(ClusterTest, ANodeKilledMidProofLosesTheJobToAnother) {
  const v1::Job job = Submit(Slow(), alpha_[0].get());
  const int holder = WaitHeld(job.job_id());
  ASSERT_GE(holder, 0);
  nodes_[holder]->Kill();
  const int other = (holder + 1) % kNodes;
  auto final = alpha_[other]->WaitFinal(job.job_id(), std::chrono::seconds(120));
  ASSERT_TRUE(final.ok()) << final.status();
  ASSERT_EQ(final->state(), v1::SUCCEEDED) << final->error();
  EXPECT_EQ(final->attempts(), 2u);
  auto proof = alpha_[other]->FetchProof(job.job_id());
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyFib(11, *proof).ok());
  double expired = 0;
  for (int i = 0; i < kNodes; ++i) {
    if (i != holder) expired += Metric(i, "prover_lease_expirations_total");
  }
  EXPECT_EQ(expired, 1);
}

// A job under which nodes keep dying (kill -9, --max-crashes 2 times) is not run again: the
// next node to claim it ends it FAILED(QUARANTINED), so one poisonous job cannot take the
// cluster's nodes down one after the other.
TEST_F(ClusterTest, AJobWhoseNodesKeepDyingIsQuarantined) {
  StartNodes(testing::NewPostgresDatabase("cluster_quarantine"), {"--max-crashes", "2"});
  const v1::Job job = Submit(Slow(), alpha_[0].get());
  for (uint32_t attempt = 1; attempt <= 2; ++attempt) {
    const int holder = WaitHeld(job.job_id(), /*via=*/0, attempt);
    ASSERT_GE(holder, 0);
    nodes_[holder]->Kill();
    ASSERT_TRUE(nodes_[holder]->RestartInPlace()) << nodes_[holder]->Log();
  }
  auto final = alpha_[1]->WaitFinal(job.job_id(), std::chrono::seconds(120));
  ASSERT_TRUE(final.ok()) << final.status();
  EXPECT_EQ(final->state(), v1::FAILED);
  EXPECT_EQ(final->cause(), v1::QUARANTINED);
  // The third claim is the one that ends it, before any proving.
  EXPECT_EQ(final->attempts(), 3u);
  EXPECT_NE(final->error().find("died 2 times"), std::string::npos) << final->error();
  // Another job runs as usual afterwards.
  auto next =
      alpha_[2]->WaitFinal(Submit(Fib(8), alpha_[2].get()).job_id(), std::chrono::seconds(60));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->state(), v1::SUCCEEDED);
}

// SIGSTOP of the node running a job until another node has taken it over, then SIGCONT:
// the paused node's late result changes nothing (fenced, counted); the job is the other
// node's.
TEST_F(ClusterTest, APausedNodeWakesToFindItsJobTakenAndItsWritesFenced) {
  const v1::Job job = Submit(Slow(), alpha_[0].get());
  const int holder = WaitHeld(job.job_id());
  ASSERT_GE(holder, 0);
  const int other = (holder + 1) % kNodes;
  nodes_[holder]->Pause();
  // Until another node holds it (a new attempt).
  bool taken = false;
  for (int i = 0; i < 3000 && !taken; ++i) {
    auto j = alpha_[other]->GetJob(job.job_id());
    ASSERT_TRUE(j.ok());
    taken = j->attempts() >= 2 && IndexOf(j->node()) != holder;
    taken = taken || (IsFinal(*j) && j->attempts() >= 2);
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(taken) << "no other node took the job over";
  nodes_[holder]->Resume();
  auto final = alpha_[other]->WaitFinal(job.job_id(), std::chrono::seconds(120));
  ASSERT_TRUE(final.ok()) << final.status();
  ASSERT_EQ(final->state(), v1::SUCCEEDED) << final->error();
  EXPECT_EQ(final->attempts(), 2u);
  // The woken node learns that it lost the job (a heartbeat or the change notifications)
  // and its write, whenever it comes, is fenced.
  double fenced = 0;
  for (int i = 0; i < 500 && fenced == 0; ++i) {
    fenced = Metric(holder, "prover_fenced_writes_total");
    if (fenced == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(fenced, 1);
  // Every node agrees on the final row, and the proof is the one that verifies.
  for (int i = 0; i < kNodes; ++i) {
    auto j = alpha_[i]->WaitFinal(job.job_id(), std::chrono::seconds(10));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->state(), v1::SUCCEEDED);
    EXPECT_EQ(j->proof_sha256(), final->proof_sha256());
  }
  auto proof = alpha_[holder]->FetchProof(job.job_id());
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyFib(11, *proof).ok());
}

// SIGTERM of a node whose drain runs out: its running job goes back to the queue at once
// (no lease to wait for) and another node finishes it; the node leaves the nodes table
// marked draining.
TEST_F(ClusterTest, ADrainedNodeHandsItsJobBack) {
  StartNodes(testing::NewPostgresDatabase("drain"), {"--drain-timeout-s", "0.2"});
  const v1::Job job = Submit(Slow(), alpha_[0].get());
  const int holder = WaitHeld(job.job_id());
  ASSERT_GE(holder, 0);
  const int other = (holder + 1) % kNodes;
  EXPECT_EQ(nodes_[holder]->Stop(), 0);
  auto final = alpha_[other]->WaitFinal(job.job_id(), std::chrono::seconds(120));
  ASSERT_TRUE(final.ok()) << final.status();
  ASSERT_EQ(final->state(), v1::SUCCEEDED) << final->error();
  EXPECT_EQ(final->attempts(), 2u);
  double expired = 0;
  for (int i = 0; i < kNodes; ++i) {
    if (i != holder) expired += Metric(i, "prover_lease_expirations_total");
  }
  EXPECT_EQ(expired, 0) << "handed back by the drain, not by a lease expiry";
  auto info = alpha_[other]->ServerInfo();
  ASSERT_TRUE(info.ok());
  for (const v1::NodeInfo& n : info->nodes()) {
    if (IndexOf(n.id()) == holder) {
      EXPECT_TRUE(n.draining());
    }
  }
}

// The database restarts while jobs are submitted on every node and proved: the nodes
// reconnect; every acknowledged job finishes, once.
TEST_F(ClusterTest, APostgresRestartLosesNothing) {
  auto pg = testing::PostgresServer::Start();
  ASSERT_TRUE(pg);
  StartNodes(testing::NewPostgresDatabase("cluster_restart", pg->url()));
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> submitters;
  for (int t = 0; t < kNodes; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string rid = "n" + std::to_string(t) + "-" + std::to_string(i);
        for (int attempt = 0; attempt < 100; ++attempt) {  // a client's retry, same id
          auto r = alpha_[t]->Submit(Fib(10, rid));
          if (r.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged.insert(r->job().job_id());
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const bool restarted = pg->Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& t : submitters) t.join();
  ASSERT_TRUE(restarted);
  ASSERT_GE(acknowledged.size(), 10u);
  for (const std::string& id : acknowledged) {
    auto j = alpha_[0]->WaitFinal(id, std::chrono::seconds(120));
    ASSERT_TRUE(j.ok()) << id << " " << j.status();
    EXPECT_EQ(j->state(), v1::SUCCEEDED) << id << " " << j->error();
  }
  double finished = 0, expired = 0;
  for (int i = 0; i < kNodes; ++i) {
    finished += Metric(i, "prover_jobs_finished_total", "state=\"SUCCEEDED\"");
    expired += Metric(i, "prover_lease_expirations_total");
  }
  // A job is proved again only after its lease expired while the database was away (each
  // such requeue is counted); never otherwise.
  EXPECT_GE(finished, double(acknowledged.size()));
  EXPECT_LE(finished, double(acknowledged.size()) + expired);
}

// Clients submit to every node while random nodes are killed (-9) and started again (with
// the same --node-id: its leftover claims are requeued). Every acknowledged job SUCCEEDS,
// each extra attempt is explained by a requeue the nodes recorded (a lease expiry or a
// leftover claim), and sample proofs verify. CI runs 64 clients x 20 jobs with 3 kills;
// scripts/cluster-soak.sh runs it long (PROVER_SOAK_CLIENTS, PROVER_SOAK_JOBS,
// PROVER_SOAK_KILLS).
TEST_F(ClusterTest, LoadWithNodesKilledLosesNothing) {
  auto env = [](const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v ? std::atoi(v) : fallback;
  };
  const int clients = env("PROVER_SOAK_CLIENTS", 64), jobs = env("PROVER_SOAK_JOBS", 20),
            kills = env("PROVER_SOAK_KILLS", 3);
  // The kills here are the test's, not the jobs' doing: a job whose node is killed under it
  // again and again must not be quarantined (--max-crashes; ANodeKilledTwice... tests that).
  StartNodes(testing::NewPostgresDatabase("cluster_load"), {"--max-crashes", "1000000"});
  std::mutex mu;
  std::map<std::string, uint32_t> acknowledged;  // job -> log rows
  std::vector<std::string> refusals;             // requests a client gave up on, and why
  std::atomic<int> done_clients{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      // Each client has its own connections, to every node; it moves on when one fails.
      std::vector<std::unique_ptr<ProverClient>> conns;
      for (auto& n : nodes_) conns.push_back(n->Client(kAlpha));
      for (int j = 0; j < jobs; ++j) {
        const uint32_t rows = 8 + uint32_t((c + j) % 4);
        const std::string rid = "c" + std::to_string(c) + "-" + std::to_string(j);
        // A client retries with the same request id until it is acknowledged: across a
        // killed node (UNAVAILABLE) and across the tenant's queue limit (RESOURCE_EXHAUSTED,
        // the service shedding load while 64 clients outrun two cores).
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(240);
        absl::Status last;
        for (size_t attempt = 0;; ++attempt) {
          std::unique_ptr<ProverClient>& cl = conns[(size_t(c) + attempt) % conns.size()];
          v1::SubmitProofRequest req = Fib(rows, rid);
          req.mutable_options()->set_grinding_bits(20);  // tens of milliseconds of work each
          auto r = cl->Submit(req);
          if (r.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged[r->job().job_id()] = rows;
            break;
          }
          last = r.status();
          if (last.code() != absl::StatusCode::kUnavailable &&
              last.code() != absl::StatusCode::kResourceExhausted) {
            std::lock_guard<std::mutex> lock(mu);
            refusals.push_back(rid + ": " + last.ToString());
            break;
          }
          if (std::chrono::steady_clock::now() > give_up) {
            std::lock_guard<std::mutex> lock(mu);
            refusals.push_back(rid + " never acknowledged: " + last.ToString());
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(
              last.code() == absl::StatusCode::kResourceExhausted ? 200 : 50));
        }
      }
      ++done_clients;
    });
  }
  // The killer: a random node, killed and started again, `kills` times.
  std::mt19937 rng(12345);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
    const int victim = int(rng() % kNodes);
    nodes_[victim]->Kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_TRUE(nodes_[victim]->RestartInPlace()) << nodes_[victim]->Log();
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(done_clients, clients);
  ASSERT_TRUE(refusals.empty()) << refusals.size() << " requests failed, first: " << refusals[0];
  ASSERT_EQ(acknowledged.size(), size_t(clients * jobs)) << "every request acknowledged once";
  int extra_attempts = 0, checked = 0;
  for (const auto& [id, rows] : acknowledged) {
    auto j = alpha_[0]->WaitFinal(id, std::chrono::seconds(300));
    ASSERT_TRUE(j.ok()) << id << " " << j.status();
    ASSERT_EQ(j->state(), v1::SUCCEEDED) << id << " " << j->error();
    extra_attempts += int(j->attempts()) - 1;
    if (checked++ % 7 == 0) {
      auto proof = alpha_[0]->FetchProof(id);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(VerifyFib(rows, *proof).ok()) << id;
    }
  }
  // Each extra attempt follows a requeue some node logged (killed nodes' logs included).
  int requeues = 0;
  for (auto& n : nodes_) {
    std::istringstream log(n->Log());
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"lease expired; job requeued\"") != std::string::npos ||
          line.find("\"requeued a claim no process of this node runs\"") != std::string::npos ||
          line.find("\"job requeued\"") != std::string::npos) {
        ++requeues;
      }
    }
  }
  EXPECT_LE(extra_attempts, requeues);
  std::fprintf(stderr, "load: %zu jobs, %d kills, %d extra attempts, %d requeues logged\n",
               acknowledged.size(), kills, extra_attempts, requeues);
}

// Jobs submitted anywhere spread over the nodes and each is proved once.
TEST_F(ClusterTest, JobsSpreadOverTheNodesAndEachRunsOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(Submit(Fib(10 + i % 3), alpha_[i % kNodes].get()).job_id());
  std::set<std::string> ran_on;
  for (const std::string& id : ids) {
    auto j = alpha_[0]->WaitFinal(id, std::chrono::seconds(120));
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(j->state(), v1::SUCCEEDED);
    EXPECT_EQ(j->attempts(), 1u);
  }
  double finished = 0;
  for (int i = 0; i < kNodes; ++i) {
    const double n = Metric(i, "prover_jobs_finished_total", "state=\"SUCCEEDED\"");
    finished += n;
    if (n > 0) ran_on.insert(nodes_[i]->grpc_address());
  }
  EXPECT_EQ(finished, 12) << "each job finished once, on one node";
  EXPECT_GE(ran_on.size(), 2u) << "the work spread over the nodes";
}

}  // namespace
}  // namespace prover
