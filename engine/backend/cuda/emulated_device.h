// A Device whose memory is host memory and whose kernels are host loops over the same
// per-element bodies the CUDA kernels run (kernels/bodies.h, kernels/program.h), in the
// same passes and tiles. It is not an engine: it is how CI checks, without a GPU, that the
// CUDA engine's algorithm (its buffers, batching, index arithmetic and bytecode) produces
// proofs byte-identical to the CPU engine's. It is single-threaded and slow.
#pragma once

#include <memory>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/device.h"

namespace prover::backend::cuda {

std::unique_ptr<Device> MakeEmulatedDevice();

// The CUDA engine's job over emulated devices (name "cuda-emulated").
std::unique_ptr<Backend> MakeEmulatedCudaBackend();

}  // namespace prover::backend::cuda
