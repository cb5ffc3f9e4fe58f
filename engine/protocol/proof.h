// The proof as a C++ value, and its protobuf encoding (proto/prover/v1/proof.proto).
//
// DecodeProof accepts exactly the bytes EncodeProof produces for some proof: it parses,
// checks every field element is canonical and every digest 32 bytes, rebuilds the proof
// and requires that re-encoding it gives the input bytes back. Counts that depend on the
// AIR and the parameters are the verifier's to check (it knows the shapes).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"
#include "engine/protocol/params.h"

namespace prover::stark {

inline constexpr uint32_t kProofVersion = 3;
// Decoding refuses larger inputs before parsing.
inline constexpr size_t kMaxProofBytes = size_t{64} << 20;

struct Opening {
  std::vector<Fp> values;
  std::vector<Digest> siblings;
  friend bool operator==(const Opening&, const Opening&) = default;
};

struct OodValues {
  std::vector<Fp3> main, main_next, aux, aux_next, quotient;
  friend bool operator==(const OodValues&, const OodValues&) = default;
};

struct TableProof {
  uint32_t log_rows = 0;
  bool has_aux = false;  // the table has bus interactions
  Fp3 logup_sum;
  OodValues ood;
  // The opened rows (section 9), one after the other.
  std::vector<Fp> main_values, aux_values, quotient_values;
  friend bool operator==(const TableProof&, const TableProof&) = default;
};

// One trace round's tree over all its tables (sections 4 to 6).
struct RoundCommitment {
  Digest root{};
  std::vector<Digest> siblings;
  friend bool operator==(const RoundCommitment&, const RoundCommitment&) = default;
};

struct FriLayerProof {
  Digest root{};
  Opening opening;
  friend bool operator==(const FriLayerProof&, const FriLayerProof&) = default;
};

struct Proof {
  uint32_t version = kProofVersion;
  ProofParams params;
  uint32_t security_bits = 0;         // conjectured (section 2)
  uint32_t proven_security_bits = 0;  // proven, list-decoding regime (section 2)
  RoundCommitment main;
  bool has_aux = false;  // some table has bus interactions
  RoundCommitment aux;
  RoundCommitment quotient;
  std::vector<TableProof> tables;
  std::vector<FriLayerProof> fri_layers;
  std::vector<Fp3> final_poly;
  uint64_t pow_nonce = 0;
  friend bool operator==(const Proof&, const Proof&) = default;
};

std::vector<uint8_t> EncodeProof(const Proof& proof);
// INVALID_ARGUMENT with the path of the first bad field, e.g.
// "proof.tables[0].ood.main[3]: 18446744073709551615 is not a canonical field element".
absl::StatusOr<Proof> DecodeProof(std::span<const uint8_t> bytes);

// Bytes of each part of an encoded proof, for `prover inspect` and the benchmarks.
struct ProofSizeBreakdown {
  size_t total = 0;
  size_t commitments = 0;  // roots and LogUp sums
  size_t ood = 0;
  size_t trace_openings = 0;  // the tables' opened rows
  size_t trace_paths = 0;     // the trace rounds' siblings
  size_t fri_openings = 0;
  size_t fri_paths = 0;
  size_t final_poly = 0;
};
ProofSizeBreakdown MeasureProof(const Proof& proof);

}  // namespace prover::stark
