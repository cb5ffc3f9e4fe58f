// LogUp helper-column layout (docs/PROTOCOL.md section 5), shared by every backend and the
// verifier so that both derive the same columns and constraints from the AIR.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/air/air.h"

namespace prover::stark {

// One helper column: h = sum over its interactions k of m_k / phi_k.
struct LogUpGroup {
  std::vector<uint32_t> interactions;  // one or two interaction indices, increasing
};

// Interactions in order, paired (k, k+1) when the pair constraint
// h * phi_k * phi_l - m_k * phi_l - m_l * phi_k stays within the AIR's degree, else single.
std::vector<LogUpGroup> GroupInteractions(const air::Table& table, uint32_t max_degree);

// Number of extension-field aux columns: the helpers then the running sum, or 0 for a
// table without interactions.
inline uint32_t NumAuxColumns(const std::vector<LogUpGroup>& groups) {
  return groups.empty() ? 0 : static_cast<uint32_t>(groups.size()) + 1;
}

}  // namespace prover::stark
