// The shared entry point of the benchmark binaries: --threads=N bounds the oneTBB arena
// (default: all cores) and is recorded in the JSON context; a binary's own flags go to
// `own_flag`, which returns false for arguments it does not know (left to Google
// Benchmark) and may exit on bad values.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tbb/global_control.h"
#include "tbb/info.h"

namespace prover::bench {

inline int RunBenchmarkMain(int argc, char** argv,
                            const std::function<bool(const char* arg)>& own_flag,
                            const std::function<void()>& register_all) {
  int threads = 0;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    } else if (i == 0 || !own_flag(argv[i])) {
      args.push_back(argv[i]);
    }
  }
  std::unique_ptr<tbb::global_control> limit;
  if (threads > 0) {
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                  threads);
  }
  benchmark::AddCustomContext(
      "threads", std::to_string(threads > 0 ? threads : tbb::info::default_concurrency()));
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace prover::bench
