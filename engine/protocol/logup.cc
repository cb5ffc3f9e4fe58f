#include "engine/protocol/logup.h"

#include <algorithm>

namespace prover::stark {

std::vector<LogUpGroup> GroupInteractions(const air::Table& table, uint32_t max_degree) {
  const std::vector<uint32_t> degree = air::NodeDegrees(table);
  const size_t k_count = table.interactions.size();
  // deg(phi_k) = max_i deg(v_{k,i}); the bus id and the challenges are constants.
  std::vector<uint32_t> phi(k_count), m(k_count);
  for (size_t k = 0; k < k_count; ++k) {
    const air::Interaction& in = table.interactions[k];
    for (uint32_t v : in.values) phi[k] = std::max(phi[k], degree[v]);
    m[k] = degree[in.multiplicity];
  }
  std::vector<LogUpGroup> groups;
  for (size_t k = 0; k < k_count;) {
    const size_t l = k + 1;
    if (l < k_count && 1 + phi[k] + phi[l] <= max_degree && m[k] + phi[l] <= max_degree &&
        m[l] + phi[k] <= max_degree) {
      groups.push_back({{uint32_t(k), uint32_t(l)}});
      k += 2;
    } else {
      groups.push_back({{uint32_t(k)}});
      k += 1;
    }
  }
  return groups;
}

std::vector<Fp3> FingerprintAlphaPowers(const air::Table& table, const Fp3& alpha) {
  if (table.interactions.empty()) return {};
  size_t len = 0;
  for (const air::Interaction& in : table.interactions) len = std::max(len, in.values.size());
  std::vector<Fp3> p(len + 1, Fp3::One());
  for (size_t i = 1; i <= len; ++i) p[i] = p[i - 1] * alpha;
  return p;
}

}  // namespace prover::stark
