// GPU tests skip where no GPU answers, so that CI (no GPU) runs everything else. On a GPU
// machine a skip would let a run pass without testing anything: PROVER_REQUIRE_GPU=1
// (scripts/gpu-verify.sh sets it) turns every such skip into a failure.
#pragma once

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace prover::testing {

inline bool GpuRequired() {
  const char* v = std::getenv("PROVER_REQUIRE_GPU");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace prover::testing

// In a test body: skips with `why`, or fails when PROVER_REQUIRE_GPU=1.
#define PROVER_SKIP_WITHOUT_GPU(why)                 \
  do {                                               \
    if (::prover::testing::GpuRequired()) {          \
      FAIL() << "PROVER_REQUIRE_GPU=1, but " << why; \
    } else {                                         \
      GTEST_SKIP() << why;                           \
    }                                                \
  } while (0)
