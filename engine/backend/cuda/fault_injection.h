// Fault injection under the CUDA engine's job, without a GPU: a Device that forwards every
// call to another one and fails the Nth call (counting every call but Free and stats) with
// a given status, the way the CUDA device reports a CUDA error (a FailureKind on the
// status: kDeviceFault, kDeviceLost, kResources). It counts allocations and frees, so a
// test can see that a job that failed gave back every buffer. Tests only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "engine/backend/cuda/device.h"

namespace prover::backend::cuda {

struct FaultLog {
  std::atomic<uint64_t> calls{0};     // counted calls made
  std::atomic<uint64_t> allocs{0};    // successful Alloc calls
  std::atomic<uint64_t> frees{0};     // Free calls
  std::atomic<bool> injected{false};  // the failure was returned
};

// Fails call `n` (1-based; 0: never) of `inner` with `failure`; that call does not reach
// `inner`.
std::unique_ptr<Device> FailNthCall(std::unique_ptr<Device> inner, uint64_t n, absl::Status failure,
                                    std::shared_ptr<FaultLog> log);

}  // namespace prover::backend::cuda
