// Batch inversion by Montgomery's trick, parallel by chunks.
//
// out[i] = in[i]^-1 for every non-zero in[i]. Zero rule: a zero input yields a zero
// output and does not disturb the other results (zeros are skipped in the running
// product), so callers never need to filter them out. in and out may be the same span.
//
// Cost: 3(n-1) multiplications plus one inversion per chunk. Inputs shorter than
// kBatchInverseSequentialBelow stay on the calling thread; longer ones are split into
// chunks that run in parallel on the current oneTBB arena. Results do not depend on the
// chunking (inverses are unique), so any thread count gives the same bytes.
#pragma once

#include <cstddef>
#include <span>

#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover {

inline constexpr size_t kBatchInverseSequentialBelow = 4096;

void BatchInverse(std::span<const Fp> in, std::span<Fp> out);
void BatchInverse(std::span<const Fp3> in, std::span<Fp3> out);

}  // namespace prover
