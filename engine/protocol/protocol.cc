#include "engine/protocol/protocol.h"

#include "engine/air/eval.h"
#include "engine/protocol/formulas.h"

namespace prover::stark {

Transcript StartTranscript(const ProofParams& params, const air::Air& air,
                           std::span<const int> log_rows, std::span<const Fp> public_inputs) {
  Transcript tr(kDomainSeparator);
  std::vector<uint8_t> p(6 * 8);
  const uint64_t values[6] = {params.log_blowup,     params.num_queries,
                              params.grinding_bits,  params.log_fri_arity,
                              params.log_final_size, params.first_layer == FirstLayer::kVirtual};
  for (int i = 0; i < 6; ++i) {
    for (int b = 0; b < 8; ++b) p[8 * i + b] = static_cast<uint8_t>(values[i] >> (8 * b));
  }
  tr.Absorb(label::kParams, p);
  tr.AbsorbDigest(label::kAir, air::AirDigest(air));
  std::vector<uint8_t> h(8 * log_rows.size());
  for (size_t t = 0; t < log_rows.size(); ++t) {
    for (int b = 0; b < 8; ++b)
      h[8 * t + b] = static_cast<uint8_t>(uint64_t(log_rows[t]) >> (8 * b));
  }
  tr.Absorb(label::kHeights, h);
  tr.AbsorbFp(label::kPublicInputs, public_inputs);
  return tr;
}

std::vector<Fp3> OodTranscriptValues(std::span<const Fp3> main, std::span<const Fp3> aux,
                                     std::span<const Fp3> quotient, std::span<const Fp3> main_next,
                                     std::span<const Fp3> aux_next) {
  std::vector<Fp3> v;
  for (auto part : {main, aux, quotient, main_next, aux_next})
    v.insert(v.end(), part.begin(), part.end());
  return v;
}

absl::Status CheckOodIdentity(const air::Table& table, std::span<const LogUpGroup> groups,
                              int log_n, const OodValues& ood, const Fp3& logup_sum,
                              std::span<const Fp> publics, const Fp3& alpha, const Fp3& beta,
                              const Fp3& gamma, const Fp3& z) {
  const size_t n = size_t{1} << log_n;
  const Fp3 zn = z.Pow(n);
  const Fp w_last = Fp::RootOfUnity(log_n).Inverse();
  const Fp3 z_every = zn - Fp3::One(), z_first = z - Fp3::One(), z_last = z - Fp3(w_last);
  if (z_every.IsZero() || z_first.IsZero() || z_last.IsZero()) {
    return absl::InvalidArgumentError("the out-of-domain point lies in the trace domain");
  }
  const Fp3 inv_every = z_every.Inverse();
  const Fp3 inv_trans = z_last * inv_every;
  const Fp3 inv_first = z_first.Inverse(), inv_last = z_last.Inverse();
  auto inv_for = [&](air::ConstraintKind kind) {
    return air::ForKind(kind, inv_every, inv_trans, inv_first, inv_last);
  };
  const std::vector<Fp3> challenges = {alpha, beta};
  std::vector<Fp3> values;
  air::EvaluateRow<Fp3>(table, ood.main, ood.main_next, publics, challenges, values);
  Fp3 lhs = Fp3::Zero(), g = Fp3::One();
  for (const air::Constraint& c : table.constraints) {
    lhs += g * values[c.expr] * inv_for(c.kind);
    g *= gamma;
  }
  if (!groups.empty()) {
    const size_t k_count = table.interactions.size();
    std::vector<Fp3> phi(k_count), m(k_count);
    const std::vector<Fp3> alpha_pows = FingerprintAlphaPowers(table, alpha);
    for (size_t k = 0; k < k_count; ++k) {
      const air::Interaction& in = table.interactions[k];
      phi[k] = Fingerprint(
          FingerprintStart(beta, in.bus), [&](uint32_t i) { return alpha_pows[i]; },
          uint32_t(in.values.size()), [&](uint32_t i) { return values[in.values[i]]; });
      m[k] = values[in.multiplicity];
    }
    // Group g's constraint with h standing for its terms (section 5).
    auto group_constraint = [&](const LogUpGroup& grp, const Fp3& h) {
      const auto& ks = grp.interactions;
      if (ks.size() == 2) return GroupConstraint(h, phi[ks[0]], m[ks[0]], phi[ks[1]], m[ks[1]]);
      return GroupConstraint(h, phi[ks[0]], m[ks[0]]);
    };
    const size_t G = groups.size();
    const Fp3 s = ood.aux[G - 1], s_next = ood.aux_next[G - 1];
    Fp3 last_terms = s_next - s + logup_sum * Fp::FromU64(n).Inverse();
    for (size_t gi = 0; gi + 1 < G; ++gi) {
      lhs += g * group_constraint(groups[gi], ood.aux[gi]) * inv_every;
      g *= gamma;
      last_terms -= ood.aux[gi];
    }
    lhs += g * group_constraint(groups[G - 1], last_terms) * inv_every;
  }
  Fp3 rhs = Fp3::Zero(), zin = Fp3::One();
  for (const Fp3& q : ood.quotient) {
    rhs += zin * q;
    zin *= zn;
  }
  if (lhs != rhs) {
    return absl::InvalidArgumentError(
        "the constraints at the out-of-domain point do not match the quotient");
  }
  return absl::OkStatus();
}

}  // namespace prover::stark
