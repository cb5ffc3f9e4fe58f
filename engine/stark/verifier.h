// The verifier: AIR + public inputs + proof -> accept, or reject with the reason. It shares
// no code with the backends; it re-derives every challenge from the transcript and
// checks the proof against docs/PROTOCOL.md alone.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/air/air.h"
#include "engine/protocol/params.h"
#include "engine/protocol/proof.h"

namespace prover::stark {

struct VerifyOptions {
  // Floors of the proof's two security figures (docs/PROTOCOL.md section 2).
  uint32_t min_security_bits = kDefaultMinSecurityBits;
  uint32_t min_proven_security_bits = 0;
  air::AirLimits limits;
};

// OK when the proof is accepted. A rejection is INVALID_ARGUMENT whose message starts with
// "proof rejected: " and names the check and the part of the proof that failed.
absl::Status Verify(const air::Air& air, std::span<const Fp> public_inputs, const Proof& proof,
                    const VerifyOptions& options = VerifyOptions());

// Decodes (proof.h) and verifies.
absl::Status VerifyEncoded(const air::Air& air, std::span<const Fp> public_inputs,
                           std::span<const uint8_t> proof_bytes,
                           const VerifyOptions& options = VerifyOptions());

}  // namespace prover::stark
