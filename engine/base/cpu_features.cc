#include "engine/base/cpu_features.h"

#include <algorithm>
#include <atomic>

namespace prover {
namespace {

SimdLevel Detect() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kPortable;
}

std::atomic<int>& ActiveLevel() {
  static std::atomic<int> level{static_cast<int>(DetectedSimdLevel())};
  return level;
}

}  // namespace

std::string_view SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kPortable:
      return "portable";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "unknown";
}

SimdLevel DetectedSimdLevel() {
  static const SimdLevel detected = Detect();
  return detected;
}

SimdLevel ActiveSimdLevel() {
  return static_cast<SimdLevel>(ActiveLevel().load(std::memory_order_relaxed));
}

SimdLevel SetSimdLevel(SimdLevel level) {
  int clamped = std::min(static_cast<int>(level), static_cast<int>(DetectedSimdLevel()));
  ActiveLevel().store(clamped, std::memory_order_relaxed);
  return static_cast<SimdLevel>(clamped);
}

void ResetSimdLevel() { SetSimdLevel(DetectedSimdLevel()); }

}  // namespace prover
