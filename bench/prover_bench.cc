// prover-bench: whole proofs of the standard workloads on an engine.
//
// prove/<workload>/<size>: one proof per iteration after one untimed warm-up proof (trace
// generation outside the timed region). Counters: seconds per stage (stage_*), the whole proof
// (prove_s), the ratio of the whole proof to the main-trace LDE + Merkle commitment it contains
// (prove_over_main_commit), proof bytes, conjectured security bits, the backend's peak
// buffer bytes and the process's peak resident memory during the benchmark (peak_rss).
// verify/<workload>/<size>: verification of an encoded proof (decoding included).
//
// Flags: --threads=N (oneTBB parallelism, default all cores), --engine=cpu|cuda|cuda:N, plus
// Google Benchmark's (--benchmark_filter, --benchmark_out=FILE --benchmark_out_format=json).
// On a GPU engine the proofs also report kernel_launches and bytes_to_device / bytes_to_host
// (PCIe) per proof, and fibonacci 2^22 and zkvm scale 20 are added (PROVER_BENCH_LARGE=1
// adds them on the CPU).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "bench/bench_main.h"
#include "engine/air/workloads/builtin.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/select_backend.h"
#include "engine/base/scratch_pool.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"

namespace prover {
namespace {

std::string g_engine = "cpu";

std::unique_ptr<backend::Backend> MakeBackend() {
  auto b = backend::MakeBackendByName(g_engine);
  if (!b.ok()) {
    std::fprintf(stderr, "prover-bench: --engine=%s: %s\n", g_engine.c_str(),
                 std::string(b.status().message()).c_str());
    std::exit(2);
  }
  return *std::move(b);
}

// Peak resident set since the last reset (Linux: clear_refs 5 resets VmHWM).
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

struct Instance {
  air::WorkloadInstance w;
};

const air::WorkloadInstance& Workload(const std::string& name, int size) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<air::WorkloadInstance>> cache;
  auto& slot = cache[{name, size}];
  if (!slot) {
    const air::BuiltinWorkload* builtin = air::FindWorkload(name);
    auto w = builtin != nullptr ? builtin->make(size, 0)
                                : absl::InvalidArgumentError("unknown workload " + name);
    if (!w.ok()) {
      std::fprintf(stderr, "%s\n", std::string(w.status().message()).c_str());
      std::exit(2);
    }
    slot = std::make_unique<air::WorkloadInstance>(*std::move(w));
  }
  return *slot;
}

void BM_Prove(benchmark::State& state, std::string name, int size) {
  const air::WorkloadInstance& w = Workload(name, size);
  auto backend = MakeBackend();
  stark::ProveResult last;
  // One untimed proof first: the steady state of a running service, whose buffer pool
  // and domain cache are warm (the first proof of a process also faults in its memory).
  if (auto warm = stark::Prove(*backend, w.air, w.trace, w.public_inputs); !warm.ok()) {
    state.SkipWithError(std::string(warm.status().message()).c_str());
    return;
  }
  ResetPeakRss();
  backend::TransferCounters before, after;
  const bool counted = backend::ReadTransferCounters(*backend, &before);
  const ScratchPool::Stats pool_before = ScratchPool::Global().stats();
  for (auto _ : state) {
    auto r = stark::Prove(*backend, w.air, w.trace, w.public_inputs);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    last = *std::move(r);
  }
  if (counted && backend::ReadTransferCounters(*backend, &after)) {
    const double iters = double(state.iterations());
    state.counters["kernel_launches"] = double(after.launches - before.launches) / iters;
    state.counters["bytes_to_device"] =
        double(after.bytes_to_device - before.bytes_to_device) / iters;
    state.counters["bytes_to_host"] = double(after.bytes_to_host - before.bytes_to_host) / iters;
  }
  // Host buffers a warm proof still had to fault in (the pool could not serve them).
  state.counters["fresh_buffers"] =
      double(ScratchPool::Global().stats().allocations - pool_before.allocations) /
      double(state.iterations());
  double total = 0, main_commit = 0;
  for (const stark::StageTiming& t : last.timings) {
    state.counters[std::string("stage_") + std::string(stark::StageName(t.stage)) + "_s"] =
        t.seconds;
    total += t.seconds;
    if (t.stage == stark::Stage::kMainCommit) main_commit = t.seconds;
  }
  state.counters["prove_s"] = total;
  state.counters["prove_over_main_commit"] = main_commit > 0 ? total / main_commit : 0;
  state.counters["proof_bytes"] = double(stark::EncodeProof(last.proof).size());
  state.counters["security_bits"] = last.proof.security_bits;
  state.counters["backend_peak_bytes"] = double(last.backend_memory.peak);
  state.counters["peak_rss_bytes"] = PeakRssBytes();
  state.SetLabel(g_engine);
}

void BM_Verify(benchmark::State& state, std::string name, int size) {
  const air::WorkloadInstance& w = Workload(name, size);
  auto backend = MakeBackend();
  auto r = stark::Prove(*backend, w.air, w.trace, w.public_inputs);
  if (!r.ok()) {
    state.SkipWithError(std::string(r.status().message()).c_str());
    return;
  }
  const std::vector<uint8_t> bytes = stark::EncodeProof(r->proof);
  for (auto _ : state) {
    absl::Status s = stark::VerifyEncoded(w.air, w.public_inputs, bytes);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
  }
  state.counters["proof_bytes"] = double(bytes.size());
}

void RegisterAll() {
  auto prove = [](const std::string& label, const std::string& name, int size, int iters) {
    benchmark::RegisterBenchmark(("prove/" + label).c_str(), BM_Prove, name, size)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(iters);
  };
  prove("fibonacci/2^16", "fibonacci", 16, 5);
  prove("fibonacci/2^20", "fibonacci", 20, 3);
  prove("zkvm/12", "zkvm", 12, 3);
  prove("zkvm/14", "zkvm", 14, 2);
  prove("zkvm/16", "zkvm", 16, 1);
  prove("zkvm/18", "zkvm", 18, 1);
  // The GPU sizes of the CUDA engine's targets: on by default for a GPU engine, and for
  // the CPU with PROVER_BENCH_LARGE=1 (the same-host comparison).
  const char* large = std::getenv("PROVER_BENCH_LARGE");
  if (g_engine != "cpu" || (large != nullptr && std::string(large) == "1")) {
    prove("fibonacci/2^22", "fibonacci", 22, g_engine == "cpu" ? 1 : 5);
    prove("zkvm/20", "zkvm", 20, g_engine == "cpu" ? 1 : 5);
  }
  auto verify = [](const std::string& label, const std::string& name, int size) {
    benchmark::RegisterBenchmark(("verify/" + label).c_str(), BM_Verify, name, size)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(0.5);
  };
  verify("fibonacci/2^16", "fibonacci", 16);
  verify("fibonacci/2^20", "fibonacci", 20);
  verify("zkvm/12", "zkvm", 12);
  verify("zkvm/16", "zkvm", 16);
}

}  // namespace
}  // namespace prover

int main(int argc, char** argv) {
  return prover::bench::RunBenchmarkMain(
      argc, argv,
      [](const char* arg) {
        if (std::strncmp(arg, "--engine=", 9) != 0) return false;
        prover::g_engine = arg + 9;
        (void)prover::MakeBackend();  // exits 2 with the reason when unavailable
        return true;
      },
      [] {
        benchmark::AddCustomContext("engine", prover::g_engine);
        prover::RegisterAll();
      });
}
