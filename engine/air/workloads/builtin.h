// The builtin workloads by name: the one list that the service's builtin statements, the
// CLI's --workload and the benchmarks read. A workload is sized by one integer (fibonacci:
// log_rows, the log2 of its one table's height; zkvm: scale, the log2 of its CPU table's
// height) and may take a seed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/workload.h"
#include "engine/field/goldilocks.h"

namespace prover::air {

struct BuiltinWorkload {
  const char* name;       // "fibonacci", "zkvm"
  const char* size_name;  // the sizing parameter: "log_rows" or "scale"
  int min_size, max_size;
  bool takes_seed;
  Air (*air)();
  // The tables' log2 heights at a size, without building the trace.
  absl::StatusOr<std::vector<int>> (*log_rows)(int size);
  absl::StatusOr<WorkloadInstance> (*make)(int size, uint64_t seed);
  // The public inputs without the trace in constant memory, or null when only the
  // generator (make) derives them.
  absl::StatusOr<std::vector<Fp>> (*public_inputs)(int size, uint64_t seed);
};

std::span<const BuiltinWorkload> BuiltinWorkloads();

// The workload of that name, or null.
const BuiltinWorkload* FindWorkload(const std::string& name);

// "fibonacci, zkvm": for error messages.
std::string WorkloadNames();

}  // namespace prover::air
