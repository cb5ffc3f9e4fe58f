// Proof parameters, the conjectured-security estimate, and the FRI layer schedule that
// both follow from them (docs/PROTOCOL.md sections 2 and 8).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace prover::stark {

// The LDE coset offset g: every committed codeword lives on g <w_N> (docs/PROTOCOL.md
// section 1).
inline constexpr uint64_t kLdeCosetOffset = 7;

// How FRI's layer 0 reaches the verifier (docs/PROTOCOL.md section 8): committed as a tree
// of its groups, or virtual: its groups are computed from the trace rows the queries open,
// and it has no tree. kAuto, for a prover's input only, chooses per statement
// (ResolveParams, shape.h): virtual when that makes the proof smaller.
enum class FirstLayer : uint32_t { kCommitted = 0, kVirtual = 1, kAuto = 2 };

struct ProofParams {
  uint32_t log_blowup = 3;      // b: LDE blowup B = 2^b, 1..4, and B >= D - 1
  uint32_t num_queries = 28;    // q: FRI queries, 1..256
  uint32_t grinding_bits = 16;  // proof of work before the queries, 0..32
  uint32_t log_fri_arity = 3;   // a: largest folding arity 2^a, 1..4
  uint32_t log_final_size = 5;  // f: final polynomial of at most 2^f coefficients, 0..10
  FirstLayer first_layer = FirstLayer::kAuto;  // v: 1 when FRI's layer 0 is virtual
  friend bool operator==(const ProofParams&, const ProofParams&) = default;
};

// The default floor below which parameters are refused, in bits.
inline constexpr uint32_t kDefaultMinSecurityBits = 100;

// min(q * b + grinding, 191 - max_t log2(N_t) - ceil(log2 D)), where N_t = n_t * B are the
// LDE sizes: the FRI query bound, capped by what the size of the extension field allows.
uint32_t SecurityBits(const ProofParams& params, std::span<const int> table_log_rows,
                      uint32_t max_constraint_degree);

// Ranges of section 2 (without the security floors: security.h, CheckSecurity).
// INVALID_ARGUMENT naming the parameter.
absl::Status ValidateParams(const ProofParams& params, uint32_t max_constraint_degree);

// The FRI layers of one job: layer i has 2^log_size[i] values and folds by 2^log_arity[i]
// into layer i + 1; the last entry of log_size is the final layer (no arity), of
// 2^log_final_layer values whose interpolant has at most 2^(log_final_layer - b)
// coefficients. Layers first_committed() .. num_folds() - 1 are committed; layer 0 is
// virtual (no tree) when virtual_first is set.
struct FriSchedule {
  std::vector<int> log_size;   // the layers that fold, then the final layer
  std::vector<int> log_arity;  // one per layer that folds
  bool virtual_first = false;
  int num_folds() const { return static_cast<int>(log_arity.size()); }
  int first_committed() const { return virtual_first ? 1 : 0; }
  bool committed(int layer) const { return layer >= first_committed() && layer < num_folds(); }
  int log_final_layer() const { return log_size.back(); }
};

// What a virtual layer 0 opens in the tables as tall as M_0 (section 9): every row of the
// groups of 2^log_arity consecutive positions the queries reach, sorted.
std::vector<uint64_t> GroupRows(std::span<const uint64_t> positions, int log_arity);

// table_log_lde[t] = log2 N_t. Every N_t is some layer size (section 8). virtual_first is
// set for FirstLayer::kVirtual when some layer folds.
FriSchedule MakeFriSchedule(const ProofParams& params, std::span<const int> table_log_lde);

}  // namespace prover::stark
