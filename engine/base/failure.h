// Why an engine operation failed, said by the layer that knows the cause. It rides on the
// absl::Status as a payload, so status codes stay what callers expect while the service
// decides what to do (the job's FailureCause, whether another engine reruns it) by the
// kind alone, never by guessing from a code.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace prover {

enum class FailureKind {
  kInvalidInput,            // the AIR, trace or parameters are wrong: the same request fails again
  kConstraintsUnsatisfied,  // the trace breaks a constraint or a bus
  kUnprovable,              // a rare event of the protocol's randomness (a LogUp fingerprint
                            // vanished): these inputs cannot be proved with these parameters
  kResources,               // memory (host or device) ran short
  kDeviceFault,             // the accelerator failed (a CUDA error); it can run other work
  kDeviceLost,              // the accelerator can run no more work in this process (a sticky
                            // CUDA error: an illegal address, a launch failure, ECC)
  kBug,                     // an internal inconsistency: a caller's, a driver's or a backend's
};

std::string_view FailureKindName(FailureKind kind);

// `s` (not OK) marked with `kind`; OK stays OK.
absl::Status WithFailureKind(absl::Status s, FailureKind kind);

// The kind `s` was marked with, if any.
std::optional<FailureKind> FailureKindOf(const absl::Status& s);

// The kind of a failure: its mark, or for an unmarked status what its code can only mean
// (INVALID_ARGUMENT: invalid input; RESOURCE_EXHAUSTED: resources; anything else: a bug).
// Not for CANCELLED, which is a stop, not a failure.
FailureKind ClassifyFailure(const absl::Status& s);

}  // namespace prover
