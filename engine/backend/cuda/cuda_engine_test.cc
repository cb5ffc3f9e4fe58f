// The engine contract suite on the first visible GPU: CUDA proofs byte-identical to the
// CPU engine's for fibonacci, zkvm and random AIRs. Skips without a GPU, fails instead with
// PROVER_REQUIRE_GPU=1 (engine/testing/require_gpu.h).
#include <cuda_runtime.h>

#include "engine/air/workloads/fibonacci.h"
#include "engine/backend/cuda/cuda_device.h"
#include "engine/stark/prover.h"
#include "engine/testing/backend_contract.h"
#include "engine/testing/require_gpu.h"
#include "gtest/gtest.h"

namespace prover::testing {
namespace {

std::unique_ptr<backend::Backend> FirstGpu() {
  const backend::cuda::GpuDiscovery d = backend::cuda::DiscoverGpus();
  if (d.gpus.empty()) return nullptr;
  auto b = backend::cuda::MakeCudaBackend(d.gpus[0].ordinal, backend::cuda::GpuOptions());
  if (!b.ok()) {
    ADD_FAILURE() << "a GPU is visible but its engine does not start: " << b.status();
    return nullptr;
  }
  return std::unique_ptr<backend::Backend>(b->release());
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Gpu, BackendContract,
                         ::testing::Values(BackendUnderTest{"cuda", FirstGpu, 18}),
                         [](const ::testing::TestParamInfo<BackendUnderTest>&) {
                           return std::string("Cuda");
                         });

// Without a GPU, discovery says why and yields no engine.
TEST(CudaDiscovery, ExplainsWhyThereIsNoGpu) {
  const backend::cuda::GpuDiscovery d = backend::cuda::DiscoverGpus();
  if (GpuRequired()) {
    EXPECT_FALSE(d.gpus.empty()) << "PROVER_REQUIRE_GPU=1: " << d.unavailable;
  }
  if (d.gpus.empty()) {
    EXPECT_FALSE(d.unavailable.empty());
  } else {
    for (const auto& g : d.gpus) {
      EXPECT_FALSE(g.name.empty());
      EXPECT_GT(g.total_memory, 0u);
      EXPECT_GE(g.compute_major, 9);
    }
  }
}

// A failed CUDA call leaves its error as the thread's "last error"; the next proof on that
// thread must not inherit it (seen on an H200: an allocation refused while another process
// held the device's memory failed the next job's first launch as "out of memory").
TEST(CudaErrors, AnEarlierFailedCallDoesNotFailTheNextProof) {
  std::unique_ptr<backend::Backend> gpu = FirstGpu();
  if (gpu == nullptr) PROVER_SKIP_WITHOUT_GPU("no GPU");
  auto w = air::Fibonacci(12);
  ASSERT_TRUE(w.ok()) << w.status();
  void* p = nullptr;
  ASSERT_NE(cudaMalloc(&p, size_t{1} << 60), cudaSuccess);  // fails, leaves its error behind
  auto r = stark::Prove(*gpu, w->air, w->trace, w->public_inputs);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Needs no GPU: what each CUDA error tells the service.
TEST(CudaErrors, StickyErrorsLoseTheDeviceOthersFailTheJob) {
  using backend::cuda::CudaErrorKind;
  EXPECT_EQ(CudaErrorKind(cudaErrorMemoryAllocation), FailureKind::kResources);
  for (cudaError_t e : {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorECCUncorrectable,
                        cudaErrorMisalignedAddress, cudaErrorIllegalInstruction}) {
    EXPECT_EQ(CudaErrorKind(e), FailureKind::kDeviceLost) << cudaGetErrorName(e);
  }
  for (cudaError_t e : {cudaErrorInvalidValue, cudaErrorLaunchOutOfResources,
                        cudaErrorInvalidConfiguration, cudaErrorNotReady}) {
    EXPECT_EQ(CudaErrorKind(e), FailureKind::kDeviceFault) << cudaGetErrorName(e);
  }
}

}  // namespace prover::testing
