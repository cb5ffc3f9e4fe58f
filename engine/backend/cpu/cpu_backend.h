// The CPU backend: every ProvingJob operation on host memory, parallel on the current
// oneTBB arena, SIMD through the engine's run-time dispatch. It is the oracle every other
// backend must match byte for byte.
#pragma once

#include <memory>

#include "engine/backend/backend.h"

namespace prover::backend {

std::unique_ptr<Backend> MakeCpuBackend();

}  // namespace prover::backend
