#include "engine/stark/prover.h"

#include "engine/air/workloads/fibonacci.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/stark/verifier.h"
#include "gtest/gtest.h"

namespace prover::stark {
namespace {

TEST(Prover, FibonacciProvesAndVerifies) {
  auto w = air::Fibonacci(10);
  ASSERT_TRUE(w.ok());
  auto backend = backend::MakeCpuBackend();
  auto result = Prove(*backend, w->air, w->trace, w->public_inputs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(Verify(w->air, w->public_inputs, result->proof).ok())
      << Verify(w->air, w->public_inputs, result->proof);
  const std::vector<uint8_t> bytes = EncodeProof(result->proof);
  auto decoded = DecodeProof(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, result->proof);
}

}  // namespace
}  // namespace prover::stark
