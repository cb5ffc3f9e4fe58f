// The CUDA engine's proving job: every ProvingJob operation as batched calls on a Device
// (device.h). All large buffers (traces, coefficients, LDEs, trees, aux and quotient
// columns, FRI layers) are device allocations owned by the job; a round returns only its
// small results, gathered on the device in one transfer.
//
// Batching: tables of the same height form a size class; each step of a round is one
// Device call over every column (or table) of a class, or of all classes at once, so the
// number of launches does not grow with the number of tables.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/device.h"

namespace prover::backend::cuda {

// Makes the Device a new job runs on (a fresh stream and arena on some GPU).
using DeviceFactory = std::function<absl::StatusOr<std::unique_ptr<Device>>()>;

std::unique_ptr<Backend> MakeDeviceBackend(std::string name, DeviceFactory factory);

// Device memory a job of this shape holds at its peak, in bytes.
uint64_t EstimateDeviceJobBytes(const JobSpec& spec);

}  // namespace prover::backend::cuda
