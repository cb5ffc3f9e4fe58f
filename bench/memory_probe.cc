// prover-memory-probe: one proof on the CPU engine in a fresh process, its real memory
// against the engine's admission estimate. Prints one JSON object:
//   {"shape":..., "estimate_bytes":E, "baseline_rss_bytes":B, "peak_rss_bytes":P,
//    "proof_rss_bytes":P-B}
// where B is the resident set after the statement was generated and P the high-water mark
// (reset just before proving) while the proof ran. tests/memory_estimate_test.cc runs it
// over many shapes and requires E >= P - B.
//
//   prover-memory-probe --shape fibonacci|zkvm|random|chain [--log-rows N] [--seed S]
//                       [--nodes K] [--log-blowup B]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "engine/air/workloads/builtin.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/stark/prover.h"
#include "engine/testing/chain_air.h"
#include "engine/testing/random_air.h"

namespace {

using namespace prover;

uint64_t StatusField(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) return std::stoull(line.substr(std::strlen(name))) * 1024;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape = "fibonacci";
  int log_rows = 12, log_blowup = 3;
  uint64_t seed = 1;
  uint32_t nodes = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--shape")
      shape = value;
    else if (flag == "--log-rows")
      log_rows = std::stoi(value);
    else if (flag == "--seed")
      seed = std::stoull(value);
    else if (flag == "--nodes")
      nodes = uint32_t(std::stoul(value));
    else if (flag == "--log-blowup")
      log_blowup = std::stoi(value);
    else {
      std::fprintf(stderr, "prover-memory-probe: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  air::WorkloadInstance w;
  if (const air::BuiltinWorkload* builtin = air::FindWorkload(shape)) {
    auto made = builtin->make(log_rows, builtin->takes_seed ? seed : 0);
    if (!made.ok()) {
      std::fprintf(stderr, "prover-memory-probe: %s\n",
                   std::string(made.status().message()).c_str());
      return 2;
    }
    w = *std::move(made);
  } else if (shape == "random") {
    testing::RandomAirOptions o;
    o.seed = seed;
    o.num_tables = 1 + int(seed % 4);
    o.num_lookup_tables = std::min(1, o.num_tables - 1);
    o.min_log_rows = std::max(1, log_rows - 4);
    o.max_log_rows = log_rows;
    o.max_degree = 2 + uint32_t(seed % 3);
    w = testing::RandomAir(o);
  } else if (shape == "chain") {
    w = testing::ChainAir(log_rows, nodes);
  } else {
    std::fprintf(stderr, "prover-memory-probe: unknown shape %s\n", shape.c_str());
    return 2;
  }
  auto backend = backend::MakeCpuBackend();
  stark::ProveOptions options;
  options.params.log_blowup = uint32_t(log_blowup);
  options.params.grinding_bits = 0;
  options.min_security_bits = 0;
  backend::JobSpec spec;
  spec.air = &w.air;
  for (const auto& t : w.trace.tables) spec.log_rows.push_back(t.log_rows());
  spec.log_blowup = log_blowup;
  const uint64_t estimate = backend->EstimatePeakBytes(spec);

  const uint64_t baseline = StatusField("VmRSS:");
  { std::ofstream("/proc/self/clear_refs") << "5"; }  // the high-water mark starts here
  auto result = stark::Prove(*backend, w.air, w.trace, w.public_inputs, options);
  const uint64_t peak = StatusField("VmHWM:");
  if (!result.ok()) {
    std::fprintf(stderr, "prover-memory-probe: %s\n",
                 std::string(result.status().message()).c_str());
    return 1;
  }
  std::printf(
      "{\"shape\":\"%s\",\"log_rows\":%d,\"seed\":%llu,\"nodes\":%u,\"estimate_bytes\":%llu,"
      "\"baseline_rss_bytes\":%llu,\"peak_rss_bytes\":%llu,\"proof_rss_bytes\":%llu}\n",
      shape.c_str(), log_rows, (unsigned long long)seed, nodes, (unsigned long long)estimate,
      (unsigned long long)baseline, (unsigned long long)peak,
      (unsigned long long)(peak > baseline ? peak - baseline : 0));
  return 0;
}
