#include "engine/stark/verifier.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/air/eval.h"
#include "engine/base/bits.h"
#include "engine/hash/merkle.h"
#include "engine/protocol/formulas.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/protocol.h"
#include "engine/protocol/shape.h"

namespace prover::stark {
namespace {

absl::Status Reject(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("proof rejected: ", why));
}

std::vector<uint64_t> Rows(std::span<const uint64_t> positions, int shift) {
  std::vector<uint64_t> out;
  for (uint64_t u : positions) out.push_back(u >> shift);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// An opened matrix: checks the value count and the Merkle multi-proof.
absl::Status CheckOpening(const Opening& o, const Digest& root, size_t leaves,
                          const std::vector<uint64_t>& rows, size_t width,
                          const std::string& path) {
  if (o.values.size() != rows.size() * width) {
    return Reject(absl::StrCat(path, ": ", o.values.size(), " values; expected ",
                               rows.size() * width, " (", rows.size(), " rows of ", width, ")"));
  }
  std::vector<Digest> hashes(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    hashes[k] = HashRow(std::span<const Fp>(o.values.data() + k * width, width));
  }
  std::vector<size_t> idx(rows.begin(), rows.end());
  if (auto s = VerifyMerkleProof(root, leaves, idx, hashes, MerkleProof{o.siblings}); !s.ok()) {
    return Reject(absl::StrCat(path, ": ", s.message()));
  }
  return absl::OkStatus();
}

// The row of `rows` holding `row` (present by construction).
const Fp* RowValues(const Opening& o, const std::vector<uint64_t>& rows, uint64_t row,
                    size_t width) {
  const size_t k = std::lower_bound(rows.begin(), rows.end(), row) - rows.begin();
  return o.values.data() + k * width;
}

Fp3 Ext(const Fp* p) { return Fp3(p[0], p[1], p[2]); }

struct TableInfo {
  std::vector<LogUpGroup> groups;
  uint32_t aux = 0;    // extension aux columns
  uint32_t parts = 1;  // quotient parts
  int log_n = 0, log_N = 0;
  std::vector<uint64_t> rows;  // opened rows
};

// Section 8: DEEP_t at LDE position `row` of table t from its opened rows.
Fp3 DeepAt(const air::Table& table, const TableInfo& info, const TableProof& tp, uint64_t row,
           std::span<const Fp3> dp, const Fp3& z) {
  const size_t m = table.num_columns, a = info.aux, q = info.parts;
  const Fp x =
      Fp::FromCanonical(kLdeCosetOffset) * Fp::RootOfUnity(info.log_N).Pow(BitRev(row, info.log_N));
  const Fp3 zw = z * Fp::RootOfUnity(info.log_n);
  const Fp3 inv_z = (Fp3(x) - z).Inverse(), inv_zw = (Fp3(x) - zw).Inverse();
  const Fp* main = RowValues(tp.main_opening, info.rows, row, m);
  const Fp* aux = a == 0 ? nullptr : RowValues(tp.aux_opening, info.rows, row, 3 * a);
  const Fp* quot = RowValues(tp.quotient_opening, info.rows, row, 3 * q);
  Fp3 at_z = Fp3::Zero(), at_zw = Fp3::Zero();
  for (size_t k = 0; k < m; ++k) {
    at_z += dp[k] * (Fp3(main[k]) - tp.ood.main[k]);
    at_zw += dp[m + a + q + k] * (Fp3(main[k]) - tp.ood.main_next[k]);
  }
  for (size_t k = 0; k < a; ++k) {
    at_z += dp[m + k] * (Ext(aux + 3 * k) - tp.ood.aux[k]);
    at_zw += dp[2 * m + a + q + k] * (Ext(aux + 3 * k) - tp.ood.aux_next[k]);
  }
  for (size_t k = 0; k < q; ++k) at_z += dp[m + a + k] * (Ext(quot + 3 * k) - tp.ood.quotient[k]);
  return at_z * inv_z + at_zw * inv_zw;
}

}  // namespace

absl::Status Verify(const air::Air& air, std::span<const Fp> public_inputs, const Proof& proof,
                    const VerifyOptions& options) {
  if (auto s = air::Validate(air, options.limits); !s.ok()) return s;
  if (public_inputs.size() != air.public_inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("public_inputs: ", public_inputs.size(),
                                                   " values; the AIR has ",
                                                   air.public_inputs.size()));
  }
  if (proof.version != kProofVersion) return Reject("proof.version: unsupported");
  const uint32_t D = air.max_constraint_degree;
  const ProofParams& params = proof.params;
  if (auto s = ValidateParams(params, D); !s.ok()) return Reject(std::string(s.message()));
  if (proof.tables.size() != air.tables.size()) {
    return Reject(absl::StrCat("proof.tables: ", proof.tables.size(), " tables; the AIR has ",
                               air.tables.size()));
  }
  std::vector<int> log_rows;
  std::vector<TableInfo> info(air.tables.size());
  for (size_t t = 0; t < air.tables.size(); ++t) {
    const TableProof& tp = proof.tables[t];
    const air::Table& table = air.tables[t];
    const std::string path = absl::StrCat("proof.tables[", t, "]");
    if (tp.log_rows < 1 || int(tp.log_rows) > options.limits.max_log_rows ||
        tp.log_rows + params.log_blowup > uint32_t(Fp::kTwoAdicity)) {
      return Reject(absl::StrCat(path, ".log_rows: ", tp.log_rows, " out of range"));
    }
    if (table.fixed_log_rows >= 0 && int(tp.log_rows) != table.fixed_log_rows) {
      return Reject(absl::StrCat(path, ".log_rows: ", tp.log_rows, "; the table is fixed at ",
                                 table.fixed_log_rows));
    }
    log_rows.push_back(int(tp.log_rows));
    TableInfo& ti = info[t];
    TableShape shape = ShapeOf(table, D);
    ti.groups = std::move(shape.groups);
    ti.aux = shape.aux_columns;
    ti.parts = shape.quotient_parts;
    ti.log_n = int(tp.log_rows);
    ti.log_N = ti.log_n + int(params.log_blowup);
    if (tp.has_aux != (ti.aux != 0)) {
      return Reject(absl::StrCat(path, ".aux_root: ", tp.has_aux ? "present" : "missing",
                                 " for a table ", ti.aux != 0 ? "with" : "without",
                                 " bus interactions"));
    }
    const size_t m = table.num_columns;
    const std::pair<const std::vector<Fp3>*, size_t> counts[] = {{&tp.ood.main, m},
                                                                 {&tp.ood.main_next, m},
                                                                 {&tp.ood.aux, ti.aux},
                                                                 {&tp.ood.aux_next, ti.aux},
                                                                 {&tp.ood.quotient, ti.parts}};
    const char* names[] = {"main", "main_next", "aux", "aux_next", "quotient"};
    for (int k = 0; k < 5; ++k) {
      if (counts[k].first->size() != counts[k].second) {
        return Reject(absl::StrCat(path, ".ood.", names[k], ": ", counts[k].first->size(),
                                   " values; expected ", counts[k].second));
      }
    }
  }
  const uint32_t bits = SecurityBits(params, log_rows, D);
  if (proof.security_bits != bits) {
    return Reject(absl::StrCat("proof.security_bits: states ", proof.security_bits,
                               "; the parameters give ", bits));
  }
  if (bits < options.min_security_bits) {
    return Reject(absl::StrCat("conjectured security ", bits, " bits is below the minimum ",
                               options.min_security_bits));
  }
  std::vector<int> log_lde;
  for (int l : log_rows) log_lde.push_back(l + int(params.log_blowup));
  const FriSchedule schedule = MakeFriSchedule(params, log_lde);
  if (int(proof.fri_layers.size()) != schedule.num_committed()) {
    return Reject(absl::StrCat("proof.fri_layers: ", proof.fri_layers.size(), " layers; expected ",
                               schedule.num_committed()));
  }
  const int log_final = schedule.log_final_layer();
  const size_t final_len = size_t{1} << (log_final - int(params.log_blowup));
  if (proof.final_poly.size() != final_len) {
    return Reject(absl::StrCat("proof.final_poly: ", proof.final_poly.size(),
                               " coefficients; expected ", final_len));
  }

  // The transcript, in the prover's order.
  Transcript tr = StartTranscript(params, air, log_rows, public_inputs);
  for (const TableProof& tp : proof.tables) tr.AbsorbDigest(label::kMainRoot, tp.main_root);
  const Fp3 alpha = tr.ChallengeFp3(label::kLogupAlpha);
  const Fp3 beta = tr.ChallengeFp3(label::kLogupBeta);
  Fp3 total = Fp3::Zero();
  for (const TableProof& tp : proof.tables) {
    if (!tp.has_aux) continue;
    tr.AbsorbFp3(label::kLogupSum, std::span<const Fp3>(&tp.logup_sum, 1));
    tr.AbsorbDigest(label::kAuxRoot, tp.aux_root);
    total += tp.logup_sum;
  }
  if (!total.IsZero()) return Reject("the LogUp sums of the tables do not cancel");
  const Fp3 gamma = tr.ChallengeFp3(label::kComposition);
  for (const TableProof& tp : proof.tables) tr.AbsorbDigest(label::kQuotientRoot, tp.quotient_root);
  const Fp3 z = tr.ChallengeFp3(label::kOod);
  for (size_t t = 0; t < proof.tables.size(); ++t) {
    const OodValues& o = proof.tables[t].ood;
    tr.AbsorbFp3(label::kOodValues,
                 OodTranscriptValues(o.main, o.aux, o.quotient, o.main_next, o.aux_next));
    if (auto s = CheckOodIdentity(air.tables[t], info[t].groups, info[t].log_n, o,
                                  proof.tables[t].logup_sum, public_inputs, alpha, beta, gamma, z);
        !s.ok()) {
      return Reject(absl::StrCat("tables[", t, "]: ", s.message()));
    }
  }
  const Fp3 delta = tr.ChallengeFp3(label::kDeep);
  const Fp3 lambda = tr.ChallengeFp3(label::kFriBatch);
  std::vector<Fp3> zetas;
  for (const FriLayerProof& l : proof.fri_layers) {
    tr.AbsorbDigest(label::kFriRoot, l.root);
    zetas.push_back(tr.ChallengeFp3(label::kFriFold));
  }
  tr.AbsorbFp3(label::kFinalPoly, proof.final_poly);
  if (!tr.CheckProofOfWork(int(params.grinding_bits), proof.pow_nonce)) {
    return Reject("proof.pow_nonce: the proof of work does not hold");
  }
  tr.AbsorbU64(label::kPowNonce, proof.pow_nonce);
  const int log_m0 = schedule.log_size.front();
  const std::vector<uint64_t> positions =
      tr.ChallengeIndices(label::kQueries, params.num_queries, log_m0);

  // Openings.
  for (size_t t = 0; t < proof.tables.size(); ++t) {
    const TableProof& tp = proof.tables[t];
    TableInfo& ti = info[t];
    ti.rows = Rows(positions, log_m0 - ti.log_N);
    const std::string path = absl::StrCat("proof.tables[", t, "]");
    const size_t N = size_t{1} << ti.log_N;
    if (auto s = CheckOpening(tp.main_opening, tp.main_root, N, ti.rows, air.tables[t].num_columns,
                              path + ".main_opening");
        !s.ok()) {
      return s;
    }
    if (ti.aux != 0) {
      if (auto s = CheckOpening(tp.aux_opening, tp.aux_root, N, ti.rows, 3 * ti.aux,
                                path + ".aux_opening");
          !s.ok()) {
        return s;
      }
    } else if (!tp.aux_opening.values.empty() || !tp.aux_opening.siblings.empty()) {
      return Reject(path + ".aux_opening: present for a table without bus interactions");
    }
    if (auto s = CheckOpening(tp.quotient_opening, tp.quotient_root, N, ti.rows, 3 * ti.parts,
                              path + ".quotient_opening");
        !s.ok()) {
      return s;
    }
  }
  std::vector<std::vector<uint64_t>> layer_groups(schedule.num_committed());
  for (int i = 0; i < schedule.num_committed(); ++i) {
    const int log_a = schedule.log_arity[i];
    layer_groups[i] = Rows(positions, log_m0 - schedule.log_size[i] + log_a);
    if (auto s = CheckOpening(proof.fri_layers[i].opening, proof.fri_layers[i].root,
                              size_t{1} << (schedule.log_size[i] - log_a), layer_groups[i],
                              3 << log_a, absl::StrCat("proof.fri_layers[", i, "].opening"));
        !s.ok()) {
      return s;
    }
  }

  // Per query: DEEP values, layer by layer folding, the final polynomial.
  size_t max_terms = 0;
  for (size_t t = 0; t < air.tables.size(); ++t) {
    max_terms = std::max<size_t>(max_terms,
                                 2 * air.tables[t].num_columns + 2 * info[t].aux + info[t].parts);
  }
  std::vector<Fp3> dp(max_terms + 1);
  for (size_t k = 0; k < dp.size(); ++k) dp[k] = k == 0 ? Fp3::One() : dp[k - 1] * delta;
  std::vector<Fp3> lambda_pow(air.tables.size());
  for (size_t t = 0; t < lambda_pow.size(); ++t)
    lambda_pow[t] = t == 0 ? Fp3::One() : lambda_pow[t - 1] * lambda;
  const Fp g = Fp::FromCanonical(kLdeCosetOffset);
  // The DEEP values entering at a layer of log size L, at position p of that layer.
  auto injected = [&](int L, uint64_t p) {
    Fp3 sum = Fp3::Zero();
    for (size_t t = 0; t < air.tables.size(); ++t) {
      if (info[t].log_N != L) continue;
      sum += lambda_pow[t] * DeepAt(air.tables[t], info[t], proof.tables[t], p, dp, z);
    }
    return sum;
  };
  for (size_t qi = 0; qi < positions.size(); ++qi) {
    const uint64_t u = positions[qi];
    Fp3 value = injected(log_m0, u);
    for (int i = 0; i < schedule.num_committed(); ++i) {
      const int L = schedule.log_size[i], log_a = schedule.log_arity[i];
      const uint64_t p = u >> (log_m0 - L);
      const uint64_t c = p >> log_a;
      const size_t a = size_t{1} << log_a;
      const Fp* group = RowValues(proof.fri_layers[i].opening, layer_groups[i], c, 3 * a);
      if (Ext(group + 3 * (p & (a - 1))) != value) {
        return Reject(absl::StrCat("query ", qi, ": FRI layer ", i,
                                   " does not match the value the previous round implies"));
      }
      std::vector<Fp3> v(a);
      for (size_t j = 0; j < a; ++j) v[j] = Ext(group + 3 * j);
      // Step r pairs the values at y and -y of the sub-layer of 2^(L - r) points, whose
      // coset offset is s^(2^r).
      const Fp s = g.Pow(uint64_t{1} << (log_m0 - L));
      const Fp3 folded = FoldUnscaled(
          v.data(), log_a, [&](int r) { return zetas[i].Pow(uint64_t{1} << r); },
          [&](int r, uint32_t k) {
            const int log_sub = L - r;
            const uint64_t pos = c * (a >> r) + 2 * k;
            const Fp y =
                s.Pow(uint64_t{1} << r) * Fp::RootOfUnity(log_sub).Pow(BitRev(pos, log_sub));
            return y.Inverse();
          });
      value = folded * Fp::FromU64(a).Inverse() + injected(L - log_a, c);
    }
    const uint64_t pf = u >> (log_m0 - log_final);
    const Fp y = g.Pow(uint64_t{1} << (log_m0 - log_final)) *
                 Fp::RootOfUnity(log_final).Pow(BitRev(pf, log_final));
    Fp3 expect = Fp3::Zero();
    for (size_t j = proof.final_poly.size(); j-- > 0;) expect = expect * y + proof.final_poly[j];
    if (expect != value) {
      return Reject(
          absl::StrCat("query ", qi, ": the final polynomial does not match the last layer"));
    }
  }
  return absl::OkStatus();
}

absl::Status VerifyEncoded(const air::Air& air, std::span<const Fp> public_inputs,
                           std::span<const uint8_t> proof_bytes, const VerifyOptions& options) {
  auto proof = DecodeProof(proof_bytes);
  if (!proof.ok()) return Reject(std::string(proof.status().message()));
  return Verify(air, public_inputs, *proof, options);
}

}  // namespace prover::stark
