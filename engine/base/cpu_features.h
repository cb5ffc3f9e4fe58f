// Run-time choice of the SIMD code path.
//
// What ships is compiled for baseline x86-64. Kernels that use AVX2 or AVX-512 live in
// their own translation units, compiled with those flags, and are reached only through
// the level returned here, so one binary runs on any x86-64 machine and uses the widest
// vectors the CPU has. Every level computes bit-identical results; tests force each
// available level in turn to check that.
#pragma once

#include <string_view>

namespace prover {

enum class SimdLevel {
  kPortable = 0,  // plain C++; always available
  kAvx2 = 1,      // 4 x 64-bit lanes
  kAvx512 = 2,    // 8 x 64-bit lanes (AVX-512 F + VL + DQ + BW)
};

std::string_view SimdLevelName(SimdLevel level);

// The widest level this CPU supports (and this binary was built with).
SimdLevel DetectedSimdLevel();

// The level kernels use now: the detected one unless overridden. Thread-safe to read.
SimdLevel ActiveSimdLevel();

// Forces a level (clamped to what the CPU supports) for tests and benchmarks; returns the
// level now active. Not meant to be changed while other threads run kernels.
SimdLevel SetSimdLevel(SimdLevel level);

// Restores the detected level.
void ResetSimdLevel();

}  // namespace prover
