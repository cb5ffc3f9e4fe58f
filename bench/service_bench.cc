// service-bench: the proving service measured from outside, through gRPC on loopback, against
// the real proverd binary (started by this program with a fresh data directory).
//
//   service/submit/DB/threads:N  durable submits per second (items_per_second) with N client
//                              threads; every submit is acknowledged only after its row is
//                              committed with fsync: DB sqlite (WAL, synchronous=FULL) or
//                              postgres (a private PostgreSQL server on loopback, started by
//                              this program with scripts/pg-test-server.sh unless
//                              PROVER_TEST_POSTGRES names one; default fsync and
//                              synchronous_commit). The jobs (fibonacci 2^3 without proof
//                              of work: Cheap) are proved meanwhile on the same cores.
//   service/submit/cluster3/threads:N  the same against three proverd nodes in cluster mode on
//                              one PostgreSQL database (the postgres server's), each client
//                              thread submitting to one node (thread i to node i mod 3).
//   service/cluster/watch      one tiny job at a time, submitted to node i mod 3 and watched
//                              (WatchJob) on all three nodes: the spread between the first
//                              node's and the last node's sight of SUCCEEDED is the
//                              cross-node notification latency (watch_spread_p50_ms /
//                              _p99_ms); started_ms - created_ms is the queue-to-claim time
//                              of an idle cluster (claim_p50_ms / claim_p99_ms).
//   service/overhead           one tiny job at a time (fibonacci 2^3, 16 grinding bits):
//                              submit -> SUCCEEDED seen by WaitJob, minus the engine's own
//                              proving time; p50 and p99 in ms (counters overhead_p50_ms,
//                              overhead_p99_ms), with submit_p50_ms / submit_p99_ms.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "bench/bench_main.h"
#include "tests/postgres_server.h"
#include "tests/proverd_process.h"

namespace prover::bench {
namespace {

std::unique_ptr<testing::ProverdProcess> StartServer(const std::string& name,
                                                     const std::string& database = "",
                                                     const std::string& cluster_node = "") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("service_bench_" + name + "_" + std::to_string(::getpid()));
  if (cluster_node.empty()) std::filesystem::remove_all(dir);
  std::vector<std::string> flags = {"--insecure-loopback",
                                    "--rate-limit",
                                    "0",
                                    "--max-queued-per-tenant",
                                    "1000000",
                                    "--log-level",
                                    "warning",
                                    "--min-security-bits",
                                    "64"};
  if (!database.empty()) {
    flags.push_back("--database");
    flags.push_back(database);
  }
  if (!cluster_node.empty()) {  // one data directory for the cluster, files of its own
    for (const char* f : {"--cluster", "--node-id"}) flags.push_back(f);
    flags.push_back(cluster_node);
  }
  auto p = std::make_unique<testing::ProverdProcess>(
      dir.string(), flags, cluster_node.empty() ? "" : (dir / cluster_node).string());
  if (!p->Start()) {
    std::fprintf(stderr, "service-bench: proverd did not start:\n%s\n", p->Log().c_str());
    std::exit(1);
  }
  return p;
}

std::vector<testing::ProverdProcess*> g_submit_server;    // SQLite
std::vector<testing::ProverdProcess*> g_postgres_server;  // one node on PostgreSQL, or none
testing::ProverdProcess* g_overhead_server = nullptr;
std::vector<testing::ProverdProcess*> g_cluster;  // three nodes, or none
std::atomic<uint64_t> g_counter{0};

v1::SubmitProofRequest Tiny(const std::string& request_id) {
  v1::SubmitProofRequest r;
  r.set_request_id(request_id);
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(3);
  return r;
}

// A submit benchmark's job: Tiny without the proof of work, so that proving the backlog
// meanwhile costs little. Three nodes prove three jobs at once where one node proves one,
// on the same two cores: with the 16 grinding bits the figure would measure that, not the
// durable submit path.
v1::SubmitProofRequest Cheap(const std::string& request_id) {
  v1::SubmitProofRequest r = Tiny(request_id);
  r.mutable_options()->set_grinding_bits(0);
  return r;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

// Waits (at most two minutes) until nothing is queued or running on the server that
// `client` reaches (in a cluster, anywhere): a submit benchmark leaves a backlog of jobs
// that would otherwise be proved on the same cores during the next benchmark.
void WaitDrained(client::ProverClient& client) {
  v1::ListJobsRequest busy;
  busy.add_states(v1::QUEUED);
  busy.add_states(v1::RUNNING);
  busy.set_page_size(1);
  const auto end = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < end) {
    auto page = client.List(busy);
    if (page.ok() && page->jobs_size() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Durable submits against `servers` (one, or a cluster's nodes: client thread i submits to
// node i mod N).
void BM_Submit(benchmark::State& state, const std::vector<testing::ProverdProcess*>* servers) {
  if (servers->empty()) {
    state.SkipWithError("no server for this database (no PostgreSQL server)");
    return;
  }
  auto client = (*servers)[size_t(state.thread_index()) % servers->size()]->Client("");
  std::vector<double> latency;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client->Submit(Cheap("b" + std::to_string(g_counter++)));
    latency.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  // Per-thread percentiles, averaged over the threads (not summed).
  state.counters["submit_p50_ms"] =
      benchmark::Counter(Percentile(latency, 0.50), benchmark::Counter::kAvgThreads);
  state.counters["submit_p99_ms"] =
      benchmark::Counter(Percentile(latency, 0.99), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) WaitDrained(*client);  // outside the timed loop
}

void BM_ClusterWatch(benchmark::State& state) {
  if (g_cluster.empty()) {
    state.SkipWithError("no cluster (no PostgreSQL server)");
    return;
  }
  std::vector<std::unique_ptr<client::ProverClient>> clients;
  for (auto* n : g_cluster) clients.push_back(n->Client(""));
  std::vector<double> spread, claim;
  size_t i = 0;
  for (auto _ : state) {
    auto r = clients[i++ % clients.size()]->Submit(Tiny("w" + std::to_string(g_counter++)));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    const std::string id = r->job().job_id();
    std::vector<std::future<std::chrono::steady_clock::time_point>> seen;
    for (auto& c : clients) {
      seen.push_back(std::async(std::launch::async, [&c, id] {
        std::chrono::steady_clock::time_point at{};
        (void)c->Watch(id, [&](const v1::Job& j) {
          if (j.state() == v1::SUCCEEDED && at == std::chrono::steady_clock::time_point{}) {
            at = std::chrono::steady_clock::now();
          }
        });
        return at;
      }));
    }
    std::vector<std::chrono::steady_clock::time_point> at;
    for (auto& f : seen) at.push_back(f.get());
    if (std::count(at.begin(), at.end(), std::chrono::steady_clock::time_point{}) > 0) {
      state.SkipWithError("a node never showed the job SUCCEEDED");
      break;
    }
    const auto [lo, hi] = std::minmax_element(at.begin(), at.end());
    spread.push_back(std::chrono::duration<double, std::milli>(*hi - *lo).count());
    auto job = clients[0]->GetJob(id);
    if (job.ok()) claim.push_back(double(job->started_ms()) - double(job->created_ms()));
  }
  state.counters["watch_spread_p50_ms"] = Percentile(spread, 0.50);
  state.counters["watch_spread_p99_ms"] = Percentile(spread, 0.99);
  state.counters["claim_p50_ms"] = Percentile(claim, 0.50);
  state.counters["claim_p99_ms"] = Percentile(claim, 0.99);
}

void BM_Overhead(benchmark::State& state) {
  auto client = g_overhead_server->Client("");
  std::vector<double> overhead, submit, prove;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client->Submit(Tiny("o" + std::to_string(g_counter++)));
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    auto job = client->WaitFinal(r->job().job_id(), std::chrono::seconds(60));
    const auto t2 = std::chrono::steady_clock::now();
    if (!job.ok() || job->state() != v1::SUCCEEDED) {
      state.SkipWithError("job did not succeed");
      break;
    }
    const double total = std::chrono::duration<double, std::milli>(t2 - t0).count();
    overhead.push_back(total - 1e3 * job->prove_seconds());
    submit.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    prove.push_back(1e3 * job->prove_seconds());
  }
  state.counters["overhead_p50_ms"] = Percentile(overhead, 0.50);
  state.counters["overhead_p99_ms"] = Percentile(overhead, 0.99);
  state.counters["submit_p50_ms"] = Percentile(submit, 0.50);
  state.counters["submit_p99_ms"] = Percentile(submit, 0.99);
  state.counters["prove_p50_ms"] = Percentile(prove, 0.50);
}

}  // namespace
}  // namespace prover::bench

int main(int argc, char** argv) {
  using namespace prover::bench;
  auto submit_server = StartServer("submit");
  auto overhead_server = StartServer("overhead");
  g_submit_server = {submit_server.get()};
  g_overhead_server = overhead_server.get();
  // PostgreSQL: the run's server when the test script started one, else a private one.
  std::unique_ptr<prover::testing::PostgresServer> own_postgres;
  std::string postgres_url;
  if (const char* env = std::getenv("PROVER_TEST_POSTGRES"); env != nullptr && *env) {
    postgres_url = env;
  } else if ((own_postgres = prover::testing::PostgresServer::Start())) {
    postgres_url = own_postgres->url();
  }
  std::unique_ptr<prover::testing::ProverdProcess> postgres_server;
  if (postgres_url.empty()) {
    std::fprintf(stderr, "service-bench: no PostgreSQL server; the postgres benchmarks fail\n");
  } else {
    postgres_server =
        StartServer("postgres", prover::testing::NewPostgresDatabase("bench", postgres_url));
    g_postgres_server = {postgres_server.get()};
  }
  std::vector<std::unique_ptr<prover::testing::ProverdProcess>> cluster;
  if (!postgres_url.empty()) {
    const std::string db = prover::testing::NewPostgresDatabase("bench_cluster", postgres_url);
    std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                ("service_bench_cluster_" + std::to_string(::getpid())));
    for (const char* node : {"node-a", "node-b", "node-c"}) {
      cluster.push_back(StartServer("cluster", db, node));
      g_cluster.push_back(cluster.back().get());
    }
  }
  return RunBenchmarkMain(
      argc, argv, [](const char*) { return false; },
      [] {
        // The overhead first: the submit benchmarks leave a backlog of queued jobs that the
        // other server proves on the same cores for a while afterwards.
        benchmark::RegisterBenchmark("service/overhead", BM_Overhead)
            ->Iterations(300)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark("service/cluster/watch", BM_ClusterWatch)
            ->Iterations(200)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
        for (auto [name, server] : {std::pair{"service/submit/sqlite", &g_submit_server},
                                    std::pair{"service/submit/postgres", &g_postgres_server},
                                    std::pair{"service/submit/cluster3", &g_cluster}}) {
          for (int threads : {1, 8, 32}) {
            benchmark::RegisterBenchmark(name, BM_Submit, server)
                ->Threads(threads)
                ->UseRealTime()
                ->MinTime(3.0)
                ->Unit(benchmark::kMillisecond);
          }
        }
      });
}
