// The engine contract suite on the first visible GPU: CUDA proofs byte-identical to the
// CPU engine's for fibonacci, zkvm and random AIRs. Skips (GTEST_SKIP) without a GPU.
#include "engine/backend/cuda/cuda_device.h"
#include "engine/testing/backend_contract.h"
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

}  // namespace prover::testing
