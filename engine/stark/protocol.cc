#include "engine/stark/protocol.h"

namespace prover::stark {

Transcript StartTranscript(const ProofParams& params, const air::Air& air,
                           std::span<const int> log_rows, std::span<const Fp> public_inputs) {
  Transcript tr(kDomainSeparator);
  std::vector<uint8_t> p(5 * 8);
  const uint64_t values[5] = {params.log_blowup, params.num_queries, params.grinding_bits,
                              params.log_fri_arity, params.log_final_size};
  for (int i = 0; i < 5; ++i) {
    for (int b = 0; b < 8; ++b) p[8 * i + b] = static_cast<uint8_t>(values[i] >> (8 * b));
  }
  tr.Absorb("params", p);
  tr.AbsorbDigest("air", air::AirDigest(air));
  std::vector<uint8_t> h(8 * log_rows.size());
  for (size_t t = 0; t < log_rows.size(); ++t) {
    for (int b = 0; b < 8; ++b)
      h[8 * t + b] = static_cast<uint8_t>(uint64_t(log_rows[t]) >> (8 * b));
  }
  tr.Absorb("heights", h);
  tr.AbsorbFp("public_inputs", public_inputs);
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

}  // namespace prover::stark
