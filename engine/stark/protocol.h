// Pieces of docs/PROTOCOL.md shared by the prover and the verifier: the transcript's
// initial absorptions and the labels.
#pragma once

#include <span>
#include <vector>

#include "engine/air/air.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/transcript.h"
#include "engine/stark/params.h"

namespace prover::stark {

inline constexpr char kDomainSeparator[] = "prover/v1";
inline constexpr uint64_t kLdeCosetOffset = 7;

// Section 3: a transcript with params, AIR digest, heights and public inputs absorbed.
Transcript StartTranscript(const ProofParams& params, const air::Air& air,
                           std::span<const int> log_rows, std::span<const Fp> public_inputs);

// The values one table absorbs as "ood_values" (section 7): main and aux at z, quotient
// parts at z, main and aux at z w.
std::vector<Fp3> OodTranscriptValues(std::span<const Fp3> main, std::span<const Fp3> aux,
                                     std::span<const Fp3> quotient, std::span<const Fp3> main_next,
                                     std::span<const Fp3> aux_next);

}  // namespace prover::stark
