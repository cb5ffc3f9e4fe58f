// PROVER_HOST_DEVICE marks code written once for the host and for CUDA device code.
// Without nvcc it is plain `inline`, so the engine builds and runs with no CUDA toolkit.
#pragma once

#if defined(__CUDACC__)
#define PROVER_HOST_DEVICE __host__ __device__ __forceinline__
#define PROVER_DEVICE_CODE 1
#else
// always_inline keeps these helpers from being emitted out of line in translation units
// compiled with AVX2/AVX-512 flags, where the linker could otherwise pick an AVX-512 copy
// for code that runs on machines without it.
#define PROVER_HOST_DEVICE inline __attribute__((always_inline))
#define PROVER_DEVICE_CODE 0
#endif

// PROVER_UNROLL before a loop with a compile-time trip count unrolls it fully in device
// code, so that arrays indexed by its counter stay in registers. The host compilers decide
// for themselves.
#if defined(__CUDA_ARCH__)
#define PROVER_UNROLL _Pragma("unroll")
#else
#define PROVER_UNROLL
#endif
