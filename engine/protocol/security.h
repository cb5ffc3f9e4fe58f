// The security of a statement's proof parameters in two regimes (docs/PROTOCOL.md section
// 2): the conjectured figure (params.h, SecurityBits) and the provable one in the
// list-decoding (Johnson bound) regime; floors in either; and the --security presets that
// choose parameters reaching a target.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/protocol/params.h"

namespace prover::stark {

// What Keccak-256's collisions allow: the proven figure never exceeds it (the conjectured
// one follows its own formula).
inline constexpr uint32_t kHashSecurityBits = 128;

// The provable figure and its terms (docs/PROTOCOL.md section 2, "Proven security").
struct ProvenSecurity {
  uint32_t bits = 0;  // min(128, floor(-log2 epsilon)) at the best m, 0 when epsilon >= 1
  int m = 0;          // the Johnson proximity parameter that gives it (>= 3)
  // log2 of each error term at that m; -infinity for a term that is absent.
  double log2_commit = 0, log2_query = 0, log2_ali = 0, log2_deep = 0, log2_logup = 0;
  double log2_total = 0;
};
ProvenSecurity ProvenSecurityOf(const ProofParams& params, const air::Air& air,
                                std::span<const int> table_log_rows);

// The floors a proof's figures must reach. The conjectured one is 100 bits unless set;
// the proven one is off (0) unless set.
struct SecurityFloors {
  uint32_t conjectured = kDefaultMinSecurityBits;
  uint32_t proven = 0;
};

// The parameter ranges (ValidateParams), then both figures against the floors:
// INVALID_ARGUMENT naming the regime, the figure and the floor.
absl::Status CheckSecurity(const ProofParams& params, const air::Air& air,
                           std::span<const int> table_log_rows, const SecurityFloors& floors);

// --security presets: a regime and a target. Each fixes blowup, grinding, arity and final
// size, and takes the fewest queries that reach the target for the statement's heights;
// its floor is the target in its regime.
enum class SecurityPreset { kConjectured100, kConjectured128, kProven100, kProven128 };
absl::StatusOr<SecurityPreset> ParseSecurityPreset(std::string_view name);
std::string_view SecurityPresetName(SecurityPreset preset);

struct PresetParams {
  ProofParams params;
  SecurityFloors floors;
};
// INVALID_ARGUMENT when no number of queries (up to 256) reaches the target, with the best
// figure the preset's other parameters allow.
absl::StatusOr<PresetParams> ChoosePresetParams(SecurityPreset preset, const air::Air& air,
                                                std::span<const int> table_log_rows);

}  // namespace prover::stark
