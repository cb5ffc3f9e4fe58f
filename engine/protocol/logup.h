// LogUp helper-column layout (docs/PROTOCOL.md section 5), shared by every backend and the
// verifier so that both derive the same columns and constraints from the AIR.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/air/air.h"
#include "engine/field/extension.h"

namespace prover::stark {

// One group of interactions: t_G = sum over its interactions k of m_k / phi_k. Every group
// but the last has a helper column h_G holding t_G; the last group's terms go straight into
// the running-sum column's constraint.
struct LogUpGroup {
  std::vector<uint32_t> interactions;  // one or two interaction indices, increasing
};

// Interactions in order, paired (k, k+1) when the pair constraint
// h * phi_k * phi_l - m_k * phi_l - m_l * phi_k stays within the AIR's degree, else single.
std::vector<LogUpGroup> GroupInteractions(const air::Table& table, uint32_t max_degree);

// Number of extension-field aux columns: a helper for each group but the last, then the
// running sum (so one per group), or 0 for a table without interactions.
inline uint32_t NumAuxColumns(const std::vector<LogUpGroup>& groups) {
  return static_cast<uint32_t>(groups.size());
}

// Number of LogUp constraints: one per helper column and the running sum's.
inline uint32_t NumLogUpConstraints(const std::vector<LogUpGroup>& groups) {
  return static_cast<uint32_t>(groups.size());
}

// alpha^0 .. alpha^L for the table's longest tuple L: the fingerprints' coefficients
// (formulas.h, Fingerprint); empty for a table without interactions.
std::vector<Fp3> FingerprintAlphaPowers(const air::Table& table, const Fp3& alpha);

}  // namespace prover::stark
