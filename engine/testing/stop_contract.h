// The stop-token contract every backend keeps (backend.h, JobSpec::stop), as a helper the
// contract suite and the CPU engine's own tests call.
#pragma once

#include <chrono>
#include <stop_token>
#include <thread>

#include "engine/air/workloads/fibonacci.h"
#include "engine/stark/prover.h"
#include "engine/testing/random_air.h"
#include "gtest/gtest.h"

namespace prover::testing {

// A stop requested when a stage starts ends the proof with CANCELLED: every backend
// operation polls the job's stop token. (A stop during the last stage may let the proof
// finish: nothing is left to stop.) Then a stop requested from another thread while a large
// proof runs ends it within a second.
inline void ExpectStopsEveryStage(backend::Backend& backend, int log_rows) {
  RandomAirOptions shape;  // small, with a bus, so every stage has work
  shape.seed = 5;
  shape.num_tables = 2;
  shape.max_log_rows = 6;
  const air::WorkloadInstance w = RandomAir(shape);
  for (int target = int(stark::Stage::kMainCommit); target < int(stark::Stage::kCount); ++target) {
    std::stop_source stop;
    stark::ProveOptions o;
    o.min_security_bits = 0;
    o.params.grinding_bits = 8;
    o.stop = stop.get_token();
    o.on_stage = [&](stark::Stage s) {
      if (int(s) == target) stop.request_stop();
      return true;
    };
    auto result = stark::Prove(backend, w.air, w.trace, w.public_inputs, o);
    if (target == int(stark::Stage::kQueries)) continue;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
        << stark::StageName(stark::Stage(target)) << ": " << result.status();
  }
  auto big = air::Fibonacci(log_rows);
  ASSERT_TRUE(big.ok());
  for (int delay_ms : {5, 40, 150}) {
    std::stop_source stop;
    stark::ProveOptions o;
    o.min_security_bits = 0;
    o.params.grinding_bits = 30;  // if the proof gets that far, it grinds for minutes
    o.stop = stop.get_token();
    std::chrono::steady_clock::time_point requested;
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      requested = std::chrono::steady_clock::now();
      stop.request_stop();
    });
    auto result = stark::Prove(backend, big->air, big->trace, big->public_inputs, o);
    const auto returned = std::chrono::steady_clock::now();
    stopper.join();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << result.status();
    EXPECT_LT(returned - requested, std::chrono::seconds(1)) << "stop after " << delay_ms << " ms";
  }
}

}  // namespace prover::testing
