// Element-wise Goldilocks / Fp3 kernels over device arrays, built from the same
// engine/field headers as the host code. Launchers only enqueue on the caller's stream;
// they allocate nothing and never synchronise.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace prover::kernels {

enum class FieldOp : int { kAdd = 0, kSub = 1, kMul = 2, kInverse = 3 };

// out[i] = a[i] op b[i] on canonical Goldilocks values (b ignored for kInverse).
cudaError_t EnqueueFpElementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out,
                                 size_t n, cudaStream_t stream);

// The same over Fp3 values stored as 3 consecutive canonical u64 (c0, c1, c2).
cudaError_t EnqueueFp3Elementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out,
                                  size_t n, cudaStream_t stream);

}  // namespace prover::kernels
