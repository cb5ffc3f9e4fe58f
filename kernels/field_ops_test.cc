// CPU-vs-GPU parity of the shared field code. Skips where no GPU answers, fails instead with
// PROVER_REQUIRE_GPU=1 (engine/testing/require_gpu.h).
#include "kernels/field_ops.cuh"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/testing/require_gpu.h"

namespace prover::kernels {
namespace {

bool HaveGpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

// Host-pointer wrapper for the test: upload, run on a fresh stream, download.
std::vector<uint64_t> RunOnDevice(bool ext, FieldOp op, const std::vector<uint64_t>& a,
                                  const std::vector<uint64_t>& b) {
  const size_t bytes = a.size() * sizeof(uint64_t);
  uint64_t *da = nullptr, *db = nullptr, *dout = nullptr;
  cudaStream_t stream;
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  EXPECT_EQ(cudaMallocAsync(&da, bytes, stream), cudaSuccess);
  EXPECT_EQ(cudaMallocAsync(&db, bytes, stream), cudaSuccess);
  EXPECT_EQ(cudaMallocAsync(&dout, bytes, stream), cudaSuccess);
  EXPECT_EQ(cudaMemcpyAsync(da, a.data(), bytes, cudaMemcpyHostToDevice, stream), cudaSuccess);
  EXPECT_EQ(cudaMemcpyAsync(db, b.data(), bytes, cudaMemcpyHostToDevice, stream), cudaSuccess);
  size_t n = ext ? a.size() / 3 : a.size();
  EXPECT_EQ(ext ? EnqueueFp3Elementwise(op, da, db, dout, n, stream)
                : EnqueueFpElementwise(op, da, db, dout, n, stream),
            cudaSuccess);
  std::vector<uint64_t> out(a.size());
  EXPECT_EQ(cudaMemcpyAsync(out.data(), dout, bytes, cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(da, stream), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(db, stream), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(dout, stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  return out;
}

TEST(FieldOpsCuda, GoldilocksMatchesHost) {
  if (!HaveGpu()) PROVER_SKIP_WITHOUT_GPU("no CUDA device");
  const uint64_t seed = 0x5eed0301;
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> a(1 << 16), b(1 << 16);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = Fp::FromU64(rng()).value();
    b[i] = Fp::FromU64(rng()).value();
  }
  a[0] = 0, b[0] = Fp::kModulus - 1, a[1] = Fp::kModulus - 1, b[1] = Fp::kModulus - 1;
  for (FieldOp op : {FieldOp::kAdd, FieldOp::kSub, FieldOp::kMul, FieldOp::kInverse}) {
    std::vector<uint64_t> got = RunOnDevice(false, op, a, b);
    for (size_t i = 0; i < a.size(); ++i) {
      Fp x = Fp::FromCanonical(a[i]), y = Fp::FromCanonical(b[i]);
      Fp want = op == FieldOp::kAdd   ? x + y
                : op == FieldOp::kSub ? x - y
                : op == FieldOp::kMul ? x * y
                                      : x.Inverse();
      ASSERT_EQ(got[i], want.value()) << "op " << int(op) << " i " << i << " seed " << seed;
    }
  }
}

TEST(FieldOpsCuda, ExtensionMatchesHost) {
  if (!HaveGpu()) PROVER_SKIP_WITHOUT_GPU("no CUDA device");
  const uint64_t seed = 0x5eed0302;
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> a(3 << 12), b(3 << 12);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = Fp::FromU64(rng()).value();
    b[i] = Fp::FromU64(rng()).value();
  }
  auto load = [](const std::vector<uint64_t>& v, size_t i) {
    return Fp3(Fp::FromCanonical(v[3 * i]), Fp::FromCanonical(v[3 * i + 1]),
               Fp::FromCanonical(v[3 * i + 2]));
  };
  for (FieldOp op : {FieldOp::kAdd, FieldOp::kSub, FieldOp::kMul, FieldOp::kInverse}) {
    std::vector<uint64_t> got = RunOnDevice(true, op, a, b);
    for (size_t i = 0; i < a.size() / 3; ++i) {
      Fp3 x = load(a, i), y = load(b, i);
      Fp3 want = op == FieldOp::kAdd   ? x + y
                 : op == FieldOp::kSub ? x - y
                 : op == FieldOp::kMul ? x * y
                                       : x.Inverse();
      ASSERT_EQ(load(got, i), want) << "op " << int(op) << " i " << i << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace prover::kernels
