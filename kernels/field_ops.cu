#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "kernels/field_ops.cuh"
#include "kernels/geometry.h"

namespace prover::kernels {
namespace {

template <typename F>
__device__ F Apply(FieldOp op, F a, F b) {
  switch (op) {
    case FieldOp::kAdd:
      return a + b;
    case FieldOp::kSub:
      return a - b;
    case FieldOp::kMul:
      return a * b;
    case FieldOp::kInverse:
      return a.Inverse();
  }
  return a;
}

__global__ void __launch_bounds__(kBlock)
    FpElementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x) {
    out[i] = Apply(op, Fp::FromCanonical(a[i]), Fp::FromCanonical(b[i])).value();
  }
}

__global__ void __launch_bounds__(kBlock)
    Fp3Elementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n;
       i += size_t{gridDim.x} * blockDim.x) {
    const uint64_t* x = a + 3 * i;
    const uint64_t* y = b + 3 * i;
    Fp3 r =
        Apply(op, Fp3(Fp::FromCanonical(x[0]), Fp::FromCanonical(x[1]), Fp::FromCanonical(x[2])),
              Fp3(Fp::FromCanonical(y[0]), Fp::FromCanonical(y[1]), Fp::FromCanonical(y[2])));
    for (int k = 0; k < 3; ++k) out[3 * i + k] = r.coeff(k).value();
  }
}

unsigned GridFor(size_t n, unsigned block) { return BlocksFor(n, block, kMaxGridY); }

}  // namespace

cudaError_t EnqueueFpElementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out,
                                 size_t n, cudaStream_t stream) {
  FpElementwise<<<GridFor(n, kBlock), kBlock, 0, stream>>>(op, a, b, out, n);
  return cudaGetLastError();
}

cudaError_t EnqueueFp3Elementwise(FieldOp op, const uint64_t* a, const uint64_t* b, uint64_t* out,
                                  size_t n, cudaStream_t stream) {
  Fp3Elementwise<<<GridFor(n, kBlock), kBlock, 0, stream>>>(op, a, b, out, n);
  return cudaGetLastError();
}

}  // namespace prover::kernels
