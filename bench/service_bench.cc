// service-bench: the proving service measured from outside, through gRPC on loopback, against
// the real proverd binary (started by this program with a fresh data directory).
//
//   service/submit/DB/threads:N  durable submits per second (items_per_second) with N client
//                              threads; every submit is acknowledged only after its row is
//                              committed with fsync: DB sqlite (WAL, synchronous=FULL) or
//                              postgres (a private PostgreSQL server on loopback, started by
//                              this program with scripts/pg-test-server.sh unless
//                              PROVER_TEST_POSTGRES names one; default fsync and
//                              synchronous_commit). The jobs (fibonacci 2^3) are proved
//                              meanwhile on the same cores.
//   service/overhead           one tiny job at a time (fibonacci 2^3, 16 grinding bits):
//                              submit -> SUCCEEDED seen by WaitJob, minus the engine's own
//                              proving time; p50 and p99 in ms (counters overhead_p50_ms,
//                              overhead_p99_ms), with submit_p50_ms / submit_p99_ms.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>

#include "bench/bench_main.h"
#include "tests/postgres_server.h"
#include "tests/proverd_process.h"

namespace prover::bench {
namespace {

std::unique_ptr<testing::ProverdProcess> StartServer(const std::string& name,
                                                     const std::string& database = "") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("service_bench_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::vector<std::string> flags = {
      "--insecure-loopback", "--rate-limit", "0", "--max-queued-per-tenant", "1000000",
      "--log-level",         "warning"};
  if (!database.empty()) {
    flags.push_back("--database");
    flags.push_back(database);
  }
  auto p = std::make_unique<testing::ProverdProcess>(dir.string(), flags);
  if (!p->Start()) {
    std::fprintf(stderr, "service-bench: proverd did not start:\n%s\n", p->Log().c_str());
    std::exit(1);
  }
  return p;
}

testing::ProverdProcess* g_submit_server = nullptr;
testing::ProverdProcess* g_postgres_server = nullptr;
testing::ProverdProcess* g_overhead_server = nullptr;
std::atomic<uint64_t> g_counter{0};

v1::SubmitProofRequest Tiny(const std::string& request_id) {
  v1::SubmitProofRequest r;
  r.set_request_id(request_id);
  r.mutable_builtin()->set_workload("fibonacci");
  r.mutable_builtin()->set_log_rows(3);
  return r;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

void BM_Submit(benchmark::State& state, testing::ProverdProcess** server) {
  if (*server == nullptr) {
    state.SkipWithError("no server for this database");
    return;
  }
  auto client = (*server)->Client("");
  std::vector<double> latency;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client->Submit(Tiny("b" + std::to_string(g_counter++)));
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
  g_submit_server = submit_server.get();
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
    g_postgres_server = postgres_server.get();
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
        for (auto [name, server] : {std::pair{"service/submit/sqlite", &g_submit_server},
                                    std::pair{"service/submit/postgres", &g_postgres_server}}) {
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
