// What the protocol derives from one AIR table (docs/PROTOCOL.md sections 5 and 6), shared
// by every backend and the verifier: its LogUp groups and aux columns, its constraint
// degree and the number of quotient parts.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/air/air.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/params.h"

namespace prover::stark {

struct TableShape {
  std::vector<LogUpGroup> groups;
  uint32_t aux_columns = 0;        // extension columns (NumAuxColumns)
  uint32_t logup_constraints = 0;  // NumLogUpConstraints
  // D_t: the largest degree of the table's constraints, AIR and LogUp, a first- or
  // last-row constraint counting one more than its expression (its zerofier has degree 1).
  uint32_t degree = 0;
  // Q_t has degree below (D_t - 1) n_t: max(1, D_t - 1) parts of degree below n_t.
  uint32_t quotient_parts = 1;
};

// The shape of `table` in an AIR of maximum constraint degree `max_degree` (which bounds
// D_t for a valid AIR).
TableShape ShapeOf(const air::Table& table, uint32_t max_degree);

// An upper bound on the encoded size of any proof of this AIR at these heights and
// parameters: every query opening a distinct leaf of every tree (deduplication only makes a
// proof smaller), every sibling of every path present, and generous protobuf framing. The
// service refuses a statement whose bound exceeds what it can serve, at submission.
uint64_t ProofBytesBound(const air::Air& air, std::span<const int> log_rows,
                         const ProofParams& params);

// The parameters a proof of this statement uses: FirstLayer::kAuto resolved (virtual when
// the rows it opens cost fewer bytes than layer 0's tree and groups save, docs/PROTOCOL.md
// section 2), everything else as given. INVALID_ARGUMENT for a virtual first layer at
// heights where no FRI layer folds. Parameters out of range (ValidateParams) come back as
// given, auto as committed: the caller's CheckSecurity refuses them.
absl::StatusOr<ProofParams> ResolveParams(const ProofParams& params, const air::Air& air,
                                          std::span<const int> log_rows);

}  // namespace prover::stark
