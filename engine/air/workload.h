// A statement ready to prove: an AIR, a trace of it and its public inputs. The builtin
// workloads (air/workloads/) make them; tests and benchmarks prove them.
#pragma once

#include <vector>

#include "engine/air/air.h"
#include "engine/air/trace.h"
#include "engine/field/goldilocks.h"

namespace prover::air {

struct WorkloadInstance {
  Air air;
  Trace trace;
  std::vector<Fp> public_inputs;
};

}  // namespace prover::air
