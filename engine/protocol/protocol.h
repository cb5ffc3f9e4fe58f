// Pieces of docs/PROTOCOL.md shared by the prover and the verifier: the transcript's
// initial absorptions and the labels.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/air/air.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/transcript.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/params.h"
#include "engine/protocol/proof.h"

namespace prover::stark {

inline constexpr char kDomainSeparator[] = "prover/v1";

// The transcript's labels (docs/PROTOCOL.md sections 3 to 10), in the order the protocol
// first uses them. The prover and the verifier name them only through these; a test
// compares the two sides' sequences of transcript operations.
namespace label {
inline constexpr std::string_view kParams = "params";
inline constexpr std::string_view kAir = "air";
inline constexpr std::string_view kHeights = "heights";
inline constexpr std::string_view kPublicInputs = "public_inputs";
inline constexpr std::string_view kMainRoot = "main_root";
inline constexpr std::string_view kLogupAlpha = "logup_alpha";
inline constexpr std::string_view kLogupBeta = "logup_beta";
inline constexpr std::string_view kLogupSum = "logup_sum";
inline constexpr std::string_view kAuxRoot = "aux_root";
inline constexpr std::string_view kComposition = "composition";
inline constexpr std::string_view kQuotientRoot = "quotient_root";
inline constexpr std::string_view kOod = "ood";
inline constexpr std::string_view kOodValues = "ood_values";
inline constexpr std::string_view kDeep = "deep";
inline constexpr std::string_view kFriBatch = "fri_batch";
inline constexpr std::string_view kFriRoot = "fri_root";
inline constexpr std::string_view kFriFold = "fri_fold";
inline constexpr std::string_view kFinalPoly = "final_poly";
inline constexpr std::string_view kPowNonce = "pow_nonce";
inline constexpr std::string_view kQueries = "queries";
inline constexpr std::string_view kAll[] = {
    kParams,   kAir,     kHeights,     kPublicInputs, kMainRoot, kLogupAlpha, kLogupBeta,
    kLogupSum, kAuxRoot, kComposition, kQuotientRoot, kOod,      kOodValues,  kDeep,
    kFriBatch, kFriRoot, kFriFold,     kFinalPoly,    kPowNonce, kQueries,
};
}  // namespace label

// Section 3: a transcript with params, AIR digest, heights and public inputs absorbed.
Transcript StartTranscript(const ProofParams& params, const air::Air& air,
                           std::span<const int> log_rows, std::span<const Fp> public_inputs);

// The values one table absorbs as "ood_values" (section 7): main and aux at z, quotient
// parts at z, main and aux at z w.
std::vector<Fp3> OodTranscriptValues(std::span<const Fp3> main, std::span<const Fp3> aux,
                                     std::span<const Fp3> quotient, std::span<const Fp3> main_next,
                                     std::span<const Fp3> aux_next);

// Section 7's identity for one table of 2^log_n rows: sum_j gamma^j c_j(z) / Z_j(z) ==
// sum_i z^(i n) Q_i(z), from its OOD values (and LogUp sum, with `groups` its helper
// columns; both unused for a table without interactions). The verifier's check; the
// prover runs it on its own values too, as a failure means a constraint fails on the
// trace. INVALID_ARGUMENT when the identity fails or z lies in the trace domain.
absl::Status CheckOodIdentity(const air::Table& table, std::span<const LogUpGroup> groups,
                              int log_n, const OodValues& ood, const Fp3& logup_sum,
                              std::span<const Fp> publics, const Fp3& alpha, const Fp3& beta,
                              const Fp3& gamma, const Fp3& z);

}  // namespace prover::stark
