// prover-bench: whole proofs of the standard workloads on an engine.
//
// prove/<workload>/<size>: one proof per iteration after one untimed warm-up proof (trace
// generation outside the timed region). Counters: seconds per stage (stage_*), the whole proof
// (prove_s), the ratio of the whole proof to the main-trace LDE + Merkle commitment it contains
// (prove_over_main_commit), proof bytes, conjectured security bits, the backend's peak
// buffer bytes and the process's peak resident memory during the benchmark (peak_rss).
// verify/<workload>/<size>: verification of an encoded proof (decoding included).
// params/<setting>/<workload>/<size>: the trade-offs of the proof parameters (docs/PROTOCOL.md
// section 2): per setting, one proof after a warm-up, then 20 verifications; counters: the
// proof's bytes and their parts (proof.h, ProofSizeBreakdown), prove_s, verify_ms (the median
// verification), and both security figures. Registered only with PROVER_BENCH_PARAMS=1:
// they take minutes.
//
// Flags: --threads=N (oneTBB parallelism, default all cores), --engine=cpu|cuda|cuda:N, plus
// Google Benchmark's (--benchmark_filter, --benchmark_out=FILE --benchmark_out_format=json).
// On a GPU engine the proofs also report kernel_launches and bytes_to_device / bytes_to_host
// (PCIe) per proof, and fibonacci 2^22 and zkvm scale 20 are added (PROVER_BENCH_LARGE=1
// adds them on the CPU).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
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
#include "engine/protocol/security.h"
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

// One parameter setting: fixed parameters, or a --security preset resolved for the workload.
struct Setting {
  std::string name;
  stark::ProofParams params;
  const char* preset = nullptr;
};

void BM_Params(benchmark::State& state, Setting setting, std::string name, int size) {
  const air::WorkloadInstance& w = Workload(name, size);
  std::vector<int> log_rows;
  for (const auto& t : w.trace.tables) log_rows.push_back(t.log_rows());
  stark::ProveOptions options;
  options.params = setting.params;
  options.min_security_bits = 0;
  if (setting.preset != nullptr) {
    auto preset = stark::ParseSecurityPreset(setting.preset);
    auto chosen = preset.ok() ? stark::ChoosePresetParams(*preset, w.air, log_rows)
                              : absl::StatusOr<stark::PresetParams>(preset.status());
    if (!chosen.ok()) {
      state.SkipWithError(std::string(chosen.status().message()).c_str());
      return;
    }
    options.params = chosen->params;
  }
  auto backend = MakeBackend();
  if (auto warm = stark::Prove(*backend, w.air, w.trace, w.public_inputs, options); !warm.ok()) {
    state.SkipWithError(std::string(warm.status().message()).c_str());
    return;
  }
  stark::ProveResult last;
  for (auto _ : state) {
    auto r = stark::Prove(*backend, w.air, w.trace, w.public_inputs, options);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    last = *std::move(r);
  }
  double prove_s = 0;
  for (const stark::StageTiming& t : last.timings) prove_s += t.seconds;
  const std::vector<uint8_t> bytes = stark::EncodeProof(last.proof);
  stark::VerifyOptions vo;
  vo.min_security_bits = 0;
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const absl::Status s = stark::VerifyEncoded(w.air, w.public_inputs, bytes, vo);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
  }
  std::sort(ms.begin(), ms.end());
  const stark::ProofSizeBreakdown sz = stark::MeasureProof(last.proof);
  const stark::ProofParams& p = last.proof.params;
  state.counters["blowup"] = double(1u << p.log_blowup);
  state.counters["queries"] = p.num_queries;
  state.counters["grinding_bits"] = p.grinding_bits;
  state.counters["fri_arity"] = double(1u << p.log_fri_arity);
  state.counters["final_size"] = double(1u << p.log_final_size);
  state.counters["virtual_first_layer"] = p.first_layer == stark::FirstLayer::kVirtual ? 1 : 0;
  state.counters["proof_bytes"] = double(bytes.size());
  state.counters["trace_paths_bytes"] = double(sz.trace_paths);
  state.counters["trace_openings_bytes"] = double(sz.trace_openings);
  state.counters["fri_paths_bytes"] = double(sz.fri_paths);
  state.counters["fri_openings_bytes"] = double(sz.fri_openings);
  state.counters["prove_s"] = prove_s;
  state.counters["verify_ms"] = ms[ms.size() / 2];
  state.counters["security_bits"] = last.proof.security_bits;
  state.counters["proven_security_bits"] = last.proof.proven_security_bits;
  state.SetLabel(g_engine);
}

std::vector<Setting> ParamSettings() {
  auto params = [](uint32_t b, uint32_t q, uint32_t g, uint32_t a, uint32_t f,
                   stark::FirstLayer first = stark::FirstLayer::kAuto) {
    return stark::ProofParams{b, q, g, a, f, first};
  };
  return {
      // conjectured 100 bits, each trading something else for queries or layers; the
      // first FRI layer auto (the default) unless the name says
      {"c100-default_b8_q28_g16_a8_f32", params(3, 28, 16, 3, 5)},
      {"c100-committed_b8_q28_g16_a8_f32", params(3, 28, 16, 3, 5, stark::FirstLayer::kCommitted)},
      {"c100-virtual_b8_q28_g16_a8_f32", params(3, 28, 16, 3, 5, stark::FirstLayer::kVirtual)},
      {"c100-final_b8_q28_g16_a8_f128", params(3, 28, 16, 3, 7)},
      {"c100-arity16_b8_q28_g16_a16_f128", params(3, 28, 16, 4, 7)},
      {"c100-grind20_b8_q27_g20_a8_f32", params(3, 27, 20, 3, 5)},
      {"c100-grind22_b8_q26_g22_a8_f32", params(3, 26, 22, 3, 5)},
      {"c100-blowup16_b16_q21_g16_a8_f32", params(4, 21, 16, 3, 5)},
      {"c100-blowup4_b4_q42_g16_a8_f32", params(2, 42, 16, 3, 5)},
      // the presets
      {"preset-conjectured-128", {}, "conjectured-128"},
      {"preset-proven-100", {}, "proven-100"},
      {"preset-proven-128", {}, "proven-128"},
  };
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
  // Parameter trade-offs: minutes; registered for a filter that asks for them.
  const char* params_env = std::getenv("PROVER_BENCH_PARAMS");
  if (params_env != nullptr && std::string(params_env) == "1") {
    for (const Setting& setting : ParamSettings()) {
      for (const auto& [name, size] :
           std::vector<std::pair<std::string, int>>{{"fibonacci", 20}, {"zkvm", 16}}) {
        benchmark::RegisterBenchmark(
            ("params/" + setting.name + "/" + name + "/" + std::to_string(size)).c_str(), BM_Params,
            setting, name, size)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->Iterations(1);
      }
    }
  }
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
