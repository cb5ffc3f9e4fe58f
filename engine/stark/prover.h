// The prover: the protocol of docs/PROTOCOL.md, round by round, over a Backend.
//
// This file owns the transcript and the order of everything absorbed and drawn; the
// backend does every operation whose cost grows with the trace. Proofs are deterministic
// functions of (AIR, trace, public inputs, parameters): there is no zero-knowledge
// masking in v1, and every backend gives the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/trace.h"
#include "engine/backend/backend.h"
#include "engine/protocol/params.h"
#include "engine/protocol/proof.h"

namespace prover::stark {

// The stages of a proof, in order, as reported to observers and in timings.
enum class Stage {
  kCheck = 0,   // constraints and buses, row by row (air/checker.h)
  kMainCommit,  // round 1
  kAuxCommit,   // round 2
  kQuotient,    // round 3
  kOod,         // round 4
  kDeep,        // round 5: DEEP codewords
  kFri,         // round 5: layer commitments and folds, final polynomial
  kGrinding,    // round 6: proof of work
  kQueries,     // round 6: openings
  kCount,
};
std::string_view StageName(Stage stage);

enum class TraceCheck {
  // Before the first commitment: a failing trace is refused at once (FAILED_PRECONDITION
  // naming every failing table, row and constraint, up to the checker's cap).
  kUpFront,
  // Only when the proof's own identities fail: the LogUp sums must cancel after round 2
  // and every table's OOD identity (section 7, the verifier's check) must hold after
  // round 4; a failure of either, or of a backend stage that a broken trace can cause,
  // runs the checker and returns its report, so the refusal is the same as kUpFront's
  // but a valid trace pays nothing for it. Both identities fail for a broken trace except
  // with probability about 2^-128 per table (a random point of K).
  kOnFailure,
  // Never: a failing trace ends in FAILED_PRECONDITION or INTERNAL without the report.
  // For traces checked already.
  kOff,
};

struct ProveOptions {
  ProofParams params;
  // Floors of the two security figures (docs/PROTOCOL.md section 2); the proven one is off
  // unless set.
  uint32_t min_security_bits = kDefaultMinSecurityBits;
  uint32_t min_proven_security_bits = 0;
  // When the row-by-row checker (air::CheckTrace) runs. Whatever the mode, a trace that
  // breaks a constraint or a bus never yields a proof.
  TraceCheck trace_check = TraceCheck::kOnFailure;
  // Called when a stage starts; returning false cancels the proof (CANCELLED).
  std::function<bool(Stage)> on_stage;
  // Polled inside every long stage (LDE, trees, constraint evaluation, DEEP, FRI, grinding):
  // once requested, Prove returns CANCELLED within about a second.
  std::stop_token stop;
};

struct StageTiming {
  Stage stage;
  double seconds = 0;
};

struct ProveResult {
  Proof proof;
  std::vector<StageTiming> timings;  // every stage that ran, in order
  backend::JobMemory backend_memory;
};

// FAILED_PRECONDITION when the trace breaks a constraint or a bus (naming table, row and
// constraint); INVALID_ARGUMENT for a bad AIR, shapes, public inputs or parameters
// (including security below the floor); CANCELLED when on_stage says so.
absl::StatusOr<ProveResult> Prove(backend::Backend& backend, const air::Air& air,
                                  const air::Trace& trace, std::span<const Fp> public_inputs,
                                  const ProveOptions& options = ProveOptions());

}  // namespace prover::stark
