// The shared entry point of the benchmark binaries: --threads=N bounds the oneTBB arena
// (default: all cores) and is recorded in the JSON context; a binary's own flags go to
// `own_flag`, which returns false for arguments it does not know (left to Google
// Benchmark) and may exit on bad values. The exit status is 1 when any benchmark recorded an
// error (a proof that failed, say), so that a script cannot take a failed run for a pass.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tbb/global_control.h"
#include "tbb/info.h"

namespace prover::bench {

// The console display, counting the runs that recorded an error.
class ErrorCountingReporter : public benchmark::ConsoleReporter {
 public:
  ErrorCountingReporter() : benchmark::ConsoleReporter(OO_None) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) ++errors_;
    }
    benchmark::ConsoleReporter::ReportRuns(runs);
  }
  int errors() const { return errors_; }

 private:
  int errors_ = 0;
};

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
  ErrorCountingReporter display;
  benchmark::RunSpecifiedBenchmarks(&display);
  benchmark::Shutdown();
  if (display.errors() > 0) {
    std::fprintf(stderr, "%s: %d benchmark(s) recorded an error\n", argv[0], display.errors());
    return 1;
  }
  return 0;
}

}  // namespace prover::bench
