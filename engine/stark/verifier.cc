#include "engine/stark/verifier.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/air/eval.h"
#include "engine/base/bits.h"
#include "engine/field/batch_inverse.h"
#include "engine/hash/merkle.h"
#include "engine/protocol/formulas.h"
#include "engine/protocol/logup.h"
#include "engine/protocol/protocol.h"
#include "engine/protocol/security.h"
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

absl::Status CheckCount(const std::vector<Fp>& values, const std::vector<uint64_t>& rows,
                        size_t width, const std::string& path) {
  if (values.size() != rows.size() * width) {
    return Reject(absl::StrCat(path, ": ", values.size(), " values; expected ", rows.size() * width,
                               " (", rows.size(), " rows of ", width, ")"));
  }
  return absl::OkStatus();
}

Fp3 Ext(const Fp* p) { return Fp3(p[0], p[1], p[2]); }

struct TableInfo {
  std::vector<LogUpGroup> groups;
  uint32_t aux = 0;    // extension aux columns
  uint32_t parts = 1;  // quotient parts
  int log_n = 0, log_N = 0;
  std::vector<uint64_t> rows;  // opened rows
};

// Section 8: DEEP_t at opened row k of table t (its k-th in info.rows), given the inverses
// of its point's distances to z and z w_n.
Fp3 DeepAtRow(const air::Table& table, const TableInfo& info, const TableProof& tp, size_t k,
              std::span<const Fp3> dp, const Fp3& inv_z, const Fp3& inv_zw) {
  const size_t m = table.num_columns, a = info.aux, q = info.parts;
  const Fp* main = tp.main_values.data() + k * m;
  const Fp* aux = a == 0 ? nullptr : tp.aux_values.data() + k * 3 * a;
  const Fp* quot = tp.quotient_values.data() + k * 3 * q;
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

// Section 8: DEEP_t at every opened row of table t (info.rows, in order), from the rows and
// the OOD values; the denominators x - z and x - z w_n of all rows in one batch inversion.
std::vector<Fp3> DeepAtRows(const air::Table& table, const TableInfo& info, const TableProof& tp,
                            std::span<const Fp3> dp, const Fp3& z) {
  const size_t rows = info.rows.size();
  const Fp3 zw = z * Fp::RootOfUnity(info.log_n);
  std::vector<Fp3> inv(2 * rows);
  for (size_t k = 0; k < rows; ++k) {
    const Fp x = Fp::FromCanonical(kLdeCosetOffset) *
                 Fp::RootOfUnity(info.log_N).Pow(BitRev(info.rows[k], info.log_N));
    inv[2 * k] = Fp3(x) - z;
    inv[2 * k + 1] = Fp3(x) - zw;
  }
  BatchInverse(inv, inv);  // none is zero for z outside F_p (a zero only fails the check)
  std::vector<Fp3> out(rows);
  for (size_t k = 0; k < rows; ++k) {
    out[k] = DeepAtRow(table, info, tp, k, dp, inv[2 * k], inv[2 * k + 1]);
  }
  return out;
}
// The checks of docs/PROTOCOL.md section 11, in its order. Each step reads only what the
// steps before it established, and the first failure ends the verification.
class Verification {
 public:
  Verification(const air::Air& air, std::span<const Fp> public_inputs, const Proof& proof,
               const VerifyOptions& options)
      : air_(air), publics_(public_inputs), proof_(proof), options_(options) {}

  absl::Status Run() {
    if (auto s = CheckStatementAndShape(); !s.ok()) return s;  // 1
    if (auto s = CheckSecurity(); !s.ok()) return s;           // 2
    if (auto s = CheckFriShape(); !s.ok()) return s;           // 3
    if (auto s = ReplayTranscript(); !s.ok()) return s;        // 4
    if (auto s = CheckOpenings(); !s.ok()) return s;           // 5
    return CheckFri();                                         // 6
  }

 private:
  // 1. The AIR, the public inputs, the version, the parameters, and each table proof's
  // height and counts of aux fields and OOD values.
  absl::Status CheckStatementAndShape() {
    if (auto s = air::Validate(air_, options_.limits); !s.ok()) return s;
    if (publics_.size() != air_.public_inputs.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "public_inputs: ", publics_.size(), " values; the AIR has ", air_.public_inputs.size()));
    }
    if (proof_.version != kProofVersion) return Reject("proof.version: unsupported");
    if (auto s = ValidateParams(params(), D()); !s.ok()) return Reject(std::string(s.message()));
    if (params().first_layer == FirstLayer::kAuto) {
      // A prover's input only; a proof states the layer it used (v = 0 or 1).
      return Reject("proof.params.first_layer: not resolved (auto)");
    }
    if (proof_.tables.size() != air_.tables.size()) {
      return Reject(absl::StrCat("proof.tables: ", proof_.tables.size(), " tables; the AIR has ",
                                 air_.tables.size()));
    }
    info_.resize(air_.tables.size());
    bool any_aux = false;
    for (size_t t = 0; t < air_.tables.size(); ++t) {
      if (auto s = CheckTableShape(t); !s.ok()) return s;
      any_aux = any_aux || info_[t].aux != 0;
    }
    if (proof_.has_aux != any_aux) {
      return Reject(absl::StrCat("proof.aux: ", proof_.has_aux ? "present" : "missing",
                                 " for an AIR ", any_aux ? "with" : "without",
                                 " bus interactions"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckTableShape(size_t t) {
    const TableProof& tp = proof_.tables[t];
    const air::Table& table = air_.tables[t];
    const std::string path = absl::StrCat("proof.tables[", t, "]");
    if (tp.log_rows < 1 || int(tp.log_rows) > options_.limits.max_log_rows ||
        tp.log_rows + params().log_blowup > uint32_t(Fp::kTwoAdicity)) {
      return Reject(absl::StrCat(path, ".log_rows: ", tp.log_rows, " out of range"));
    }
    if (table.fixed_log_rows >= 0 && int(tp.log_rows) != table.fixed_log_rows) {
      return Reject(absl::StrCat(path, ".log_rows: ", tp.log_rows, "; the table is fixed at ",
                                 table.fixed_log_rows));
    }
    log_rows_.push_back(int(tp.log_rows));
    TableInfo& ti = info_[t];
    TableShape shape = ShapeOf(table, D());
    ti.groups = std::move(shape.groups);
    ti.aux = shape.aux_columns;
    ti.parts = shape.quotient_parts;
    ti.log_n = int(tp.log_rows);
    ti.log_N = ti.log_n + int(params().log_blowup);
    if (tp.has_aux != (ti.aux != 0)) {
      return Reject(absl::StrCat(path, ".logup_sum: ", tp.has_aux ? "present" : "missing",
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
    return absl::OkStatus();
  }

  // 2. The stated security figures equal those of section 2 and reach their floors.
  absl::Status CheckSecurity() const {
    const uint32_t bits = SecurityBits(params(), log_rows_, D());
    if (proof_.security_bits != bits) {
      return Reject(absl::StrCat("proof.security_bits: states ", proof_.security_bits,
                                 "; the parameters give ", bits));
    }
    if (bits < options_.min_security_bits) {
      return Reject(absl::StrCat("conjectured security ", bits, " bits is below the minimum ",
                                 options_.min_security_bits));
    }
    const uint32_t proven = ProvenSecurityOf(params(), air_, log_rows_).bits;
    if (proof_.proven_security_bits != proven) {
      return Reject(absl::StrCat("proof.proven_security_bits: states ", proof_.proven_security_bits,
                                 "; the parameters give ", proven));
    }
    if (proven < options_.min_proven_security_bits) {
      return Reject(absl::StrCat("proven security ", proven, " bits is below the minimum ",
                                 options_.min_proven_security_bits));
    }
    return absl::OkStatus();
  }

  // 3. The FRI layers and the final polynomial have the schedule's counts (section 8).
  absl::Status CheckFriShape() {
    std::vector<int> log_lde;
    for (int l : log_rows_) log_lde.push_back(l + int(params().log_blowup));
    schedule_ = MakeFriSchedule(params(), log_lde);
    if (params().first_layer == FirstLayer::kVirtual && schedule_.num_folds() == 0) {
      return Reject(
          "proof.params.virtual_first_layer: set, but at these heights no FRI layer folds");
    }
    const int committed = schedule_.num_folds() - schedule_.first_committed();
    if (int(proof_.fri_layers.size()) != committed) {
      return Reject(absl::StrCat("proof.fri_layers: ", proof_.fri_layers.size(),
                                 " layers; expected ", committed));
    }
    log_m0_ = schedule_.log_size.front();
    log_final_ = schedule_.log_final_layer();
    const size_t final_len = size_t{1} << (log_final_ - int(params().log_blowup));
    if (proof_.final_poly.size() != final_len) {
      return Reject(absl::StrCat("proof.final_poly: ", proof_.final_poly.size(),
                                 " coefficients; expected ", final_len));
    }
    return absl::OkStatus();
  }

  // 4. The transcript in the prover's order (sections 3 to 9): the LogUp sums cancel, each
  // table's OOD identity holds, the proof of work holds; the query positions.
  absl::Status ReplayTranscript() {
    Transcript tr = StartTranscript(params(), air_, log_rows_, publics_);
    tr.AbsorbDigest(label::kMainRoot, proof_.main.root);
    alpha_ = tr.ChallengeFp3(label::kLogupAlpha);
    beta_ = tr.ChallengeFp3(label::kLogupBeta);
    Fp3 total = Fp3::Zero();
    for (const TableProof& tp : proof_.tables) {
      if (!tp.has_aux) continue;
      tr.AbsorbFp3(label::kLogupSum, std::span<const Fp3>(&tp.logup_sum, 1));
      total += tp.logup_sum;
    }
    if (proof_.has_aux) tr.AbsorbDigest(label::kAuxRoot, proof_.aux.root);
    if (!total.IsZero()) return Reject("the LogUp sums of the tables do not cancel");
    const Fp3 gamma = tr.ChallengeFp3(label::kComposition);
    tr.AbsorbDigest(label::kQuotientRoot, proof_.quotient.root);
    z_ = tr.ChallengeFp3(label::kOod);
    for (size_t t = 0; t < proof_.tables.size(); ++t) {
      const OodValues& o = proof_.tables[t].ood;
      tr.AbsorbFp3(label::kOodValues,
                   OodTranscriptValues(o.main, o.aux, o.quotient, o.main_next, o.aux_next));
      if (auto s = CheckOodIdentity(air_.tables[t], info_[t].groups, info_[t].log_n, o,
                                    proof_.tables[t].logup_sum, publics_, alpha_, beta_, gamma, z_);
          !s.ok()) {
        return Reject(absl::StrCat("tables[", t, "]: ", s.message()));
      }
    }
    delta_ = tr.ChallengeFp3(label::kDeep);
    lambda_ = tr.ChallengeFp3(label::kFriBatch);
    for (int i = 0; i < schedule_.num_folds(); ++i) {
      if (schedule_.committed(i)) tr.AbsorbDigest(label::kFriRoot, Layer(i).root);
      zetas_.push_back(tr.ChallengeFp3(label::kFriFold));
    }
    tr.AbsorbFp3(label::kFinalPoly, proof_.final_poly);
    if (!tr.CheckProofOfWork(int(params().grinding_bits), proof_.pow_nonce)) {
      return Reject("proof.pow_nonce: the proof of work does not hold");
    }
    tr.AbsorbU64(label::kPowNonce, proof_.pow_nonce);
    positions_ = tr.ChallengeIndices(label::kQueries, params().num_queries, log_m0_);
    return absl::OkStatus();
  }

  // 5. Every opening: its value count, its rows' hashes and its multi-proof (one per trace
  // round, over every table of the round).
  absl::Status CheckOpenings() {
    std::vector<std::vector<Digest>> main(info_.size()), aux(info_.size()), quot(info_.size());
    std::vector<OpenedMatrix> main_m, aux_m, quot_m;
    for (size_t t = 0; t < proof_.tables.size(); ++t) {
      const TableProof& tp = proof_.tables[t];
      TableInfo& ti = info_[t];
      ti.rows = schedule_.virtual_first && ti.log_N == log_m0_
                    ? GroupRows(positions_, schedule_.log_arity[0])
                    : Rows(positions_, log_m0_ - ti.log_N);
      const std::string path = absl::StrCat("proof.tables[", t, "]");
      const size_t N = size_t{1} << ti.log_N, m = air_.tables[t].num_columns;
      if (auto s = CheckCount(tp.main_values, ti.rows, m, path + ".main_values"); !s.ok()) return s;
      if (auto s = CheckCount(tp.aux_values, ti.rows, 3 * ti.aux, path + ".aux_values"); !s.ok()) {
        return s;
      }
      if (auto s = CheckCount(tp.quotient_values, ti.rows, 3 * ti.parts, path + ".quotient_values");
          !s.ok()) {
        return s;
      }
      main[t] = HashRows(tp.main_values, m);
      main_m.push_back(OpenedMatrix{N, ti.rows, main[t]});
      if (ti.aux != 0) {
        aux[t] = HashRows(tp.aux_values, 3 * ti.aux);
        aux_m.push_back(OpenedMatrix{N, ti.rows, aux[t]});
      }
      quot[t] = HashRows(tp.quotient_values, 3 * ti.parts);
      quot_m.push_back(OpenedMatrix{N, ti.rows, quot[t]});
    }
    const std::tuple<const char*, const RoundCommitment*, const std::vector<OpenedMatrix>*>
        rounds[] = {{"proof.main", &proof_.main, &main_m},
                    {"proof.aux", &proof_.aux, &aux_m},
                    {"proof.quotient", &proof_.quotient, &quot_m}};
    for (const auto& [path, round, matrices] : rounds) {
      if (matrices->empty()) {
        if (!round->siblings.empty()) return Reject(absl::StrCat(path, ": siblings without rows"));
        continue;
      }
      if (auto s = VerifyMerkleMultiProof(round->root, *matrices, MerkleProof{round->siblings});
          !s.ok()) {
        return Reject(absl::StrCat(path, ": ", s.message()));
      }
    }
    return absl::OkStatus();
  }

  // 6. FRI, layer by layer over all queries: each query's value from the layer before (at
  // layer 0 the DEEP values from the opened rows), filled into the opened groups where the
  // proof leaves it out; the groups' multi-opening; the fold. Last, each query's value
  // against the final polynomial.
  absl::Status CheckFri() {
    size_t max_terms = 0;
    for (size_t t = 0; t < air_.tables.size(); ++t) {
      max_terms = std::max<size_t>(
          max_terms, 2 * air_.tables[t].num_columns + 2 * info_[t].aux + info_[t].parts);
    }
    delta_pows_.resize(max_terms + 1);
    for (size_t k = 0; k < delta_pows_.size(); ++k) {
      delta_pows_[k] = k == 0 ? Fp3::One() : delta_pows_[k - 1] * delta_;
    }
    lambda_pows_.resize(air_.tables.size());
    for (size_t t = 0; t < lambda_pows_.size(); ++t) {
      lambda_pows_[t] = t == 0 ? Fp3::One() : lambda_pows_[t - 1] * lambda_;
    }
    deep_.resize(air_.tables.size());
    for (size_t t = 0; t < air_.tables.size(); ++t) {
      deep_[t] = DeepAtRows(air_.tables[t], info_[t], proof_.tables[t], delta_pows_, z_);
    }
    std::vector<Fp3> value(positions_.size());
    if (!schedule_.virtual_first) {
      for (size_t qi = 0; qi < positions_.size(); ++qi) {
        value[qi] = Injected(log_m0_, positions_[qi]);
      }
    }
    const Fp g = Fp::FromCanonical(kLdeCosetOffset);
    for (int i = 0; i < schedule_.num_folds(); ++i) {
      const int L = schedule_.log_size[i], log_a = schedule_.log_arity[i];
      const size_t a = size_t{1} << log_a;
      const std::vector<uint64_t> groups = Rows(positions_, log_m0_ - L + log_a);
      std::vector<Fp> full;
      full.reserve(3 * a * groups.size());
      if (schedule_.committed(i)) {
        if (auto st = RebuildGroups(i, groups, value, full); !st.ok()) return st;
      } else {
        // A virtual layer 0: its groups from the opened rows of the tables as tall as M_0.
        for (uint64_t c : groups) {
          for (uint64_t pos = c * a; pos < (c + 1) * a; ++pos) {
            const Fp3 v = Injected(L, pos);
            for (int k = 0; k < 3; ++k) full.push_back(v.coeff(k));
          }
        }
      }
      // Step r pairs the values at y and -y of the sub-layer of 2^(L - r) points, whose
      // coset offset is s^(2^r).
      const Fp s = g.Pow(uint64_t{1} << (log_m0_ - L));
      const Fp a_inv = Fp::FromU64(a).Inverse();
      for (size_t qi = 0; qi < positions_.size(); ++qi) {
        const uint64_t c = (positions_[qi] >> (log_m0_ - L)) >> log_a;
        const size_t k = std::lower_bound(groups.begin(), groups.end(), c) - groups.begin();
        std::vector<Fp3> v(a);
        for (size_t j = 0; j < a; ++j) v[j] = Ext(full.data() + 3 * (k * a + j));
        const Fp3 folded = FoldUnscaled(
            v.data(), log_a, [&](int r) { return zetas_[i].Pow(uint64_t{1} << r); },
            [&](int r, uint32_t kk) {
              const int log_sub = L - r;
              const uint64_t pos = c * (a >> r) + 2 * kk;
              const Fp y =
                  s.Pow(uint64_t{1} << r) * Fp::RootOfUnity(log_sub).Pow(BitRev(pos, log_sub));
              return y.Inverse();
            });
        value[qi] = folded * a_inv + Injected(L - log_a, c);
      }
    }
    for (size_t qi = 0; qi < positions_.size(); ++qi) {
      const uint64_t pf = positions_[qi] >> (log_m0_ - log_final_);
      const Fp y = g.Pow(uint64_t{1} << (log_m0_ - log_final_)) *
                   Fp::RootOfUnity(log_final_).Pow(BitRev(pf, log_final_));
      Fp3 expect = Fp3::Zero();
      for (size_t j = proof_.final_poly.size(); j-- > 0;)
        expect = expect * y + proof_.final_poly[j];
      if (expect != value[qi]) {
        return Reject(
            absl::StrCat("query ", qi, ": the final polynomial does not match the last layer"));
      }
    }
    return absl::OkStatus();
  }

  // Committed layer i's opened groups (`groups`, sorted, unique), rebuilt from the proof's
  // values and, at the positions the queries reach, their values from the layer before
  // (`value`, per query), into `full`; then their multi-opening against the layer's root.
  absl::Status RebuildGroups(int i, const std::vector<uint64_t>& groups,
                             const std::vector<Fp3>& value, std::vector<Fp>& full) const {
    const int L = schedule_.log_size[i], log_a = schedule_.log_arity[i];
    const size_t a = size_t{1} << log_a;
    const FriLayerProof& layer = Layer(i);
    const std::string path =
        absl::StrCat("proof.fri_layers[", i - schedule_.first_committed(), "].opening");
    std::vector<std::pair<uint64_t, Fp3>> known;
    for (size_t qi = 0; qi < positions_.size(); ++qi) {
      known.emplace_back(positions_[qi] >> (log_m0_ - L), value[qi]);
    }
    std::sort(known.begin(), known.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    known.erase(std::unique(known.begin(), known.end(),
                            [](const auto& x, const auto& y) { return x.first == y.first; }),
                known.end());
    const Opening& o = layer.opening;
    const size_t sent = 3 * (groups.size() * a - known.size());
    if (o.values.size() != sent) {
      return Reject(absl::StrCat(path, ".values: ", o.values.size(), " values; expected ", sent,
                                 " (", groups.size(), " groups of ", a, " minus ", known.size(),
                                 " known, 3 each)"));
    }
    size_t next_known = 0, next_sent = 0;
    for (uint64_t c : groups) {
      for (uint64_t pos = c * a; pos < (c + 1) * a; ++pos) {
        if (next_known < known.size() && known[next_known].first == pos) {
          const Fp3& v = known[next_known++].second;
          for (int k = 0; k < 3; ++k) full.push_back(v.coeff(k));
        } else {
          for (int k = 0; k < 3; ++k) full.push_back(o.values[next_sent++]);
        }
      }
    }
    std::vector<size_t> idx(groups.begin(), groups.end());
    if (auto st = VerifyMerkleProof(layer.root, size_t{1} << (L - log_a), idx,
                                    HashRows(full, 3 * a), MerkleProof{o.siblings});
        !st.ok()) {
      return Reject(absl::StrCat(path, ": ", st.message()));
    }
    return absl::OkStatus();
  }

  // The proof of committed layer i.
  const FriLayerProof& Layer(int i) const {
    return proof_.fri_layers[size_t(i - schedule_.first_committed())];
  }

  // The DEEP values entering at a layer of log size L, at position p of that layer (an
  // opened row of every table of that height).
  Fp3 Injected(int L, uint64_t p) const {
    Fp3 sum = Fp3::Zero();
    for (size_t t = 0; t < air_.tables.size(); ++t) {
      if (info_[t].log_N != L) continue;
      const std::vector<uint64_t>& rows = info_[t].rows;
      const size_t k = std::lower_bound(rows.begin(), rows.end(), p) - rows.begin();
      sum += lambda_pows_[t] * deep_[t][k];
    }
    return sum;
  }

  const ProofParams& params() const { return proof_.params; }
  uint32_t D() const { return air_.max_constraint_degree; }

  const air::Air& air_;
  std::span<const Fp> publics_;
  const Proof& proof_;
  const VerifyOptions& options_;
  // Step 1.
  std::vector<int> log_rows_;
  std::vector<TableInfo> info_;
  // Step 3.
  FriSchedule schedule_;
  int log_m0_ = 0, log_final_ = 0;
  // Step 4: the challenges and the query positions.
  Fp3 alpha_, beta_, z_, delta_, lambda_;
  std::vector<Fp3> zetas_;
  std::vector<uint64_t> positions_;
  // Step 6: the challenges' powers; DEEP_t at each opened row of each table.
  std::vector<Fp3> delta_pows_, lambda_pows_;
  std::vector<std::vector<Fp3>> deep_;
};

}  // namespace

absl::Status Verify(const air::Air& air, std::span<const Fp> public_inputs, const Proof& proof,
                    const VerifyOptions& options) {
  return Verification(air, public_inputs, proof, options).Run();
}

absl::Status VerifyEncoded(const air::Air& air, std::span<const Fp> public_inputs,
                           std::span<const uint8_t> proof_bytes, const VerifyOptions& options) {
  auto proof = DecodeProof(proof_bytes);
  if (!proof.ok()) return Reject(std::string(proof.status().message()));
  return Verify(air, public_inputs, *proof, options);
}

}  // namespace prover::stark
