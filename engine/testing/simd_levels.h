// Test helper: run a body once per SIMD level this CPU supports.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/base/cpu_features.h"

namespace prover::testing {

inline std::vector<SimdLevel> AvailableSimdLevels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel l : {SimdLevel::kPortable, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (l <= DetectedSimdLevel()) levels.push_back(l);
  }
  return levels;
}

// Runs fn(level) for each available level and restores the detected level afterwards.
template <typename Fn>
void ForEachSimdLevel(Fn fn) {
  for (SimdLevel level : AvailableSimdLevels()) {
    SetSimdLevel(level);
    SCOPED_TRACE("simd " + std::string(SimdLevelName(level)));
    fn(level);
  }
  ResetSimdLevel();
}

}  // namespace prover::testing
