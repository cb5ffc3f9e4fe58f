// Backends by name, for the offline CLI and the benchmarks: "cpu", "cuda" (the first
// GPU) or "cuda:N". A name this build or this machine cannot serve is UNAVAILABLE with the
// reason (no CUDA in the build, no driver, no GPU).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/backend/backend.h"

namespace prover::backend {

absl::StatusOr<std::unique_ptr<Backend>> MakeBackendByName(std::string_view name);

// Launches and bytes over PCIe so far, for backends that count them (CUDA); false for others.
struct TransferCounters {
  uint64_t launches = 0, bytes_to_device = 0, bytes_to_host = 0;
};
bool ReadTransferCounters(const Backend& backend, TransferCounters* out);

}  // namespace prover::backend
