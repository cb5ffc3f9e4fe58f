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

// program_threads: the threads of the device's constraint program launches (the most of
// kernels::ProgramThreads over both kernels), whose register scratch a job needs.
std::unique_ptr<Backend> MakeDeviceBackend(std::string name, DeviceFactory factory,
                                           uint64_t program_threads);

// The constraint program kernels' register scratch at its largest in a job of this shape:
// the wider of rounds 2 and 3's launches, each table's program compiled as the job
// compiles it, for program_threads threads.
uint64_t ProgramScratchBytes(const JobSpec& spec, uint64_t program_threads);

// Device memory a job of this shape holds at its peak, in bytes.
uint64_t EstimateDeviceJobBytes(const JobSpec& spec, uint64_t program_threads);

}  // namespace prover::backend::cuda
