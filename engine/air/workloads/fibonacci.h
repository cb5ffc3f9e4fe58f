// The `fibonacci` workload: one table of two columns (a, b), 2^log_rows rows, with
// a[0] = a0, b[0] = a1, a[r+1] = b[r], b[r+1] = a[r] + b[r], and b[n-1] = result.
// Public inputs: a0, a1, result.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/trace.h"
#include "engine/air/workload.h"

namespace prover::air {

Air FibonacciAir();

// The trace and public inputs for 2^log_rows rows (1 <= log_rows <= 26) from (a0, a1).
absl::StatusOr<WorkloadInstance> Fibonacci(int log_rows, Fp a0 = Fp::Zero(), Fp a1 = Fp::One());

// The public inputs of Fibonacci(log_rows, a0, a1) without building the trace (constant
// memory: a verifier of a builtin statement needs only these).
absl::StatusOr<std::vector<Fp>> FibonacciPublicInputs(int log_rows, Fp a0 = Fp::Zero(),
                                                      Fp a1 = Fp::One());

}  // namespace prover::air
