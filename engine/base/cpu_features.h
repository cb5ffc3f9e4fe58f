// Run-time choice of the SIMD code path.
//
// What ships is compiled for baseline x86-64. Kernels that use AVX2 or AVX-512 live in
// their own translation units, compiled with those flags, and are reached only through
// the level returned here, so one binary runs on any x86-64 machine and uses the widest
// vectors the CPU has. Every level computes bit-identical results; tests force each
// available level in turn to check that.
#pragma once

#include <string_view>

// The per-ISA kernel getters, or null where their translation units are not built.
#if defined(PROVER_HAVE_AVX2_UNITS)
#define PROVER_AVX2_KERNELS(f) (&f)
#else
#define PROVER_AVX2_KERNELS(f) nullptr
#endif
#if defined(PROVER_HAVE_AVX512_UNITS)
#define PROVER_AVX512_KERNELS(f) (&f)
#else
#define PROVER_AVX512_KERNELS(f) nullptr
#endif

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

// The kernel table for `level`: the widest built path at or below it. avx2 and avx512 are
// null where those units are not built (non-x86 hosts); see PROVER_AVX2_KERNELS below.
template <typename T>
const T& SelectKernels(SimdLevel level, const T& (*portable)(), const T& (*avx2)(),
                       const T& (*avx512)()) {
  if (level == SimdLevel::kAvx512 && avx512 != nullptr) return avx512();
  if (level >= SimdLevel::kAvx2 && avx2 != nullptr) return avx2();
  return portable();
}

}  // namespace prover
