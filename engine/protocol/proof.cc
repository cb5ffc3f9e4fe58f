#include "engine/protocol/proof.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "prover/v1/proof.pb.h"

namespace prover::stark {
namespace {

namespace pb = ::prover::v1;

template <typename Repeated>
void PutFp(const std::vector<Fp>& v, Repeated* out) {
  out->Reserve(static_cast<int>(v.size()));
  for (Fp x : v) out->Add(x.value());
}

template <typename Repeated>
void PutFp3(const std::vector<Fp3>& v, Repeated* out) {
  out->Reserve(static_cast<int>(3 * v.size()));
  for (const Fp3& x : v) {
    for (int c = 0; c < 3; ++c) out->Add(x.coeff(c).value());
  }
}

std::string DigestBytes(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string SiblingBytes(const std::vector<Digest>& siblings) {
  std::string s;
  s.reserve(32 * siblings.size());
  for (const Digest& d : siblings) s += DigestBytes(d);
  return s;
}

void PutOpening(const Opening& o, pb::Opening* out) {
  PutFp(o.values, out->mutable_values());
  out->set_siblings(SiblingBytes(o.siblings));
}

void PutRound(const RoundCommitment& r, pb::RoundCommitment* out) {
  out->set_root(DigestBytes(r.root));
  out->set_siblings(SiblingBytes(r.siblings));
}

absl::Status Bad(const std::string& path, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", msg));
}

template <typename Repeated>
absl::StatusOr<std::vector<Fp>> GetFp(const Repeated& in, const std::string& path) {
  std::vector<Fp> out;
  out.reserve(in.size());
  for (int i = 0; i < in.size(); ++i) {
    if (in.Get(i) >= Fp::kModulus) {
      return Bad(absl::StrCat(path, "[", i, "]"),
                 absl::StrCat(in.Get(i), " is not a canonical field element"));
    }
    out.push_back(Fp::FromCanonical(in.Get(i)));
  }
  return out;
}

template <typename Repeated>
absl::StatusOr<std::vector<Fp3>> GetFp3(const Repeated& in, const std::string& path) {
  if (in.size() % 3 != 0) {
    return Bad(path, absl::StrCat(in.size(), " values do not form extension elements (3 each)"));
  }
  auto base = GetFp(in, path);
  if (!base.ok()) return base.status();
  std::vector<Fp3> out(base->size() / 3);
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = Fp3((*base)[3 * k], (*base)[3 * k + 1], (*base)[3 * k + 2]);
  return out;
}

absl::StatusOr<Digest> GetDigest(const std::string& in, const std::string& path) {
  if (in.size() != 32) return Bad(path, absl::StrCat(in.size(), " bytes; a digest has 32"));
  Digest d;
  std::memcpy(d.data(), in.data(), 32);
  return d;
}

absl::StatusOr<std::vector<Digest>> GetSiblings(const std::string& in, const std::string& path) {
  if (in.size() % 32 != 0) {
    return Bad(path, absl::StrCat(in.size(), " bytes, not a multiple of 32"));
  }
  std::vector<Digest> out(in.size() / 32);
  for (size_t k = 0; k < out.size(); ++k) std::memcpy(out[k].data(), in.data() + 32 * k, 32);
  return out;
}

absl::StatusOr<Opening> GetOpening(const pb::Opening& in, const std::string& path) {
  Opening o;
  auto values = GetFp(in.values(), path + ".values");
  if (!values.ok()) return values.status();
  o.values = *std::move(values);
  auto siblings = GetSiblings(in.siblings(), path + ".siblings");
  if (!siblings.ok()) return siblings.status();
  o.siblings = *std::move(siblings);
  return o;
}

absl::StatusOr<RoundCommitment> GetRound(const pb::RoundCommitment& in, const std::string& path) {
  RoundCommitment r;
  auto root = GetDigest(in.root(), path + ".root");
  if (!root.ok()) return root.status();
  r.root = *root;
  auto siblings = GetSiblings(in.siblings(), path + ".siblings");
  if (!siblings.ok()) return siblings.status();
  r.siblings = *std::move(siblings);
  return r;
}

#define PROVER_ASSIGN(lhs, expr)      \
  do {                                \
    auto _v = (expr);                 \
    if (!_v.ok()) return _v.status(); \
    lhs = *std::move(_v);             \
  } while (0)

pb::Proof ToMessage(const Proof& p) {
  pb::Proof m;
  m.set_version(p.version);
  pb::ProofParameters* params = m.mutable_params();
  params->set_log_blowup(p.params.log_blowup);
  params->set_num_queries(p.params.num_queries);
  params->set_grinding_bits(p.params.grinding_bits);
  params->set_log_fri_arity(p.params.log_fri_arity);
  params->set_log_final_size(p.params.log_final_size);
  params->set_virtual_first_layer(p.params.first_layer == FirstLayer::kVirtual);
  m.set_security_bits(p.security_bits);
  m.set_proven_security_bits(p.proven_security_bits);
  PutRound(p.main, m.mutable_main());
  if (p.has_aux) PutRound(p.aux, m.mutable_aux());
  PutRound(p.quotient, m.mutable_quotient());
  for (const TableProof& t : p.tables) {
    pb::TableProof* out = m.add_tables();
    out->set_log_rows(t.log_rows);
    if (t.has_aux) PutFp3({t.logup_sum}, out->mutable_logup_sum());
    pb::OodValues* ood = out->mutable_ood();
    PutFp3(t.ood.main, ood->mutable_main());
    PutFp3(t.ood.main_next, ood->mutable_main_next());
    PutFp3(t.ood.aux, ood->mutable_aux());
    PutFp3(t.ood.aux_next, ood->mutable_aux_next());
    PutFp3(t.ood.quotient, ood->mutable_quotient());
    PutFp(t.main_values, out->mutable_main_values());
    PutFp(t.aux_values, out->mutable_aux_values());
    PutFp(t.quotient_values, out->mutable_quotient_values());
  }
  for (const FriLayerProof& l : p.fri_layers) {
    pb::FriLayer* out = m.add_fri_layers();
    out->set_root(DigestBytes(l.root));
    PutOpening(l.opening, out->mutable_opening());
  }
  PutFp3(p.final_poly, m.mutable_final_poly());
  m.set_pow_nonce(p.pow_nonce);
  return m;
}

std::vector<uint8_t> Serialize(const pb::Proof& m) {
  std::string s;
  m.SerializeToString(&s);
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace

std::vector<uint8_t> EncodeProof(const Proof& proof) { return Serialize(ToMessage(proof)); }

absl::StatusOr<Proof> DecodeProof(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxProofBytes) {
    return Bad("proof", absl::StrCat(bytes.size(), " bytes; at most ", kMaxProofBytes));
  }
  pb::Proof m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Bad("proof", "not a valid prover.v1.Proof protobuf message");
  }
  if (m.version() != kProofVersion) {
    return Bad("proof.version",
               absl::StrCat(m.version(), "; this verifier reads version ", kProofVersion,
                            m.version() < kProofVersion
                                ? " (a proof of an earlier version must be proved again)"
                                : ""));
  }
  Proof p;
  p.version = m.version();
  if (!m.has_params()) return Bad("proof.params", "missing");
  p.params.log_blowup = m.params().log_blowup();
  p.params.num_queries = m.params().num_queries();
  p.params.grinding_bits = m.params().grinding_bits();
  p.params.log_fri_arity = m.params().log_fri_arity();
  p.params.log_final_size = m.params().log_final_size();
  p.params.first_layer =
      m.params().virtual_first_layer() ? FirstLayer::kVirtual : FirstLayer::kCommitted;
  p.security_bits = m.security_bits();
  p.proven_security_bits = m.proven_security_bits();
  if (!m.has_main()) return Bad("proof.main", "missing");
  PROVER_ASSIGN(p.main, GetRound(m.main(), "proof.main"));
  p.has_aux = m.has_aux();
  if (p.has_aux) PROVER_ASSIGN(p.aux, GetRound(m.aux(), "proof.aux"));
  if (!m.has_quotient()) return Bad("proof.quotient", "missing");
  PROVER_ASSIGN(p.quotient, GetRound(m.quotient(), "proof.quotient"));
  for (int i = 0; i < m.tables_size(); ++i) {
    const pb::TableProof& in = m.tables(i);
    const std::string path = absl::StrCat("proof.tables[", i, "]");
    TableProof t;
    t.log_rows = in.log_rows();
    t.has_aux = in.logup_sum_size() != 0;
    if (t.has_aux) {
      std::vector<Fp3> sum;
      PROVER_ASSIGN(sum, GetFp3(in.logup_sum(), path + ".logup_sum"));
      if (sum.size() != 1) return Bad(path + ".logup_sum", "must hold one extension element");
      t.logup_sum = sum[0];
    } else if (in.aux_values_size() != 0) {
      return Bad(path + ".logup_sum", "missing while aux values are present");
    }
    if (!in.has_ood()) return Bad(path + ".ood", "missing");
    PROVER_ASSIGN(t.ood.main, GetFp3(in.ood().main(), path + ".ood.main"));
    PROVER_ASSIGN(t.ood.main_next, GetFp3(in.ood().main_next(), path + ".ood.main_next"));
    PROVER_ASSIGN(t.ood.aux, GetFp3(in.ood().aux(), path + ".ood.aux"));
    PROVER_ASSIGN(t.ood.aux_next, GetFp3(in.ood().aux_next(), path + ".ood.aux_next"));
    PROVER_ASSIGN(t.ood.quotient, GetFp3(in.ood().quotient(), path + ".ood.quotient"));
    PROVER_ASSIGN(t.main_values, GetFp(in.main_values(), path + ".main_values"));
    PROVER_ASSIGN(t.aux_values, GetFp(in.aux_values(), path + ".aux_values"));
    PROVER_ASSIGN(t.quotient_values, GetFp(in.quotient_values(), path + ".quotient_values"));
    p.tables.push_back(std::move(t));
  }
  for (int i = 0; i < m.fri_layers_size(); ++i) {
    const std::string path = absl::StrCat("proof.fri_layers[", i, "]");
    FriLayerProof l;
    PROVER_ASSIGN(l.root, GetDigest(m.fri_layers(i).root(), path + ".root"));
    if (!m.fri_layers(i).has_opening()) return Bad(path + ".opening", "missing");
    PROVER_ASSIGN(l.opening, GetOpening(m.fri_layers(i).opening(), path + ".opening"));
    p.fri_layers.push_back(std::move(l));
  }
  PROVER_ASSIGN(p.final_poly, GetFp3(m.final_poly(), "proof.final_poly"));
  p.pow_nonce = m.pow_nonce();
  // One encoding per proof: unknown, repeated or reordered fields, non-packed arrays and
  // trailing bytes all fail this comparison.
  const std::vector<uint8_t> canonical = EncodeProof(p);
  if (canonical.size() != bytes.size() ||
      !std::equal(canonical.begin(), canonical.end(), bytes.begin())) {
    return Bad("proof",
               "not the canonical encoding (unknown, repeated or misordered fields, "
               "or trailing bytes)");
  }
  return p;
}

ProofSizeBreakdown MeasureProof(const Proof& proof) {
  ProofSizeBreakdown b;
  b.total = EncodeProof(proof).size();
  for (const RoundCommitment* r : {&proof.main, &proof.aux, &proof.quotient}) {
    if (r == &proof.aux && !proof.has_aux) continue;
    b.commitments += 32;
    b.trace_paths += 32 * r->siblings.size();
  }
  for (const TableProof& t : proof.tables) {
    b.commitments += t.has_aux ? 24 : 0;
    b.ood += 24 * (t.ood.main.size() + t.ood.main_next.size() + t.ood.aux.size() +
                   t.ood.aux_next.size() + t.ood.quotient.size());
    b.trace_openings += 8 * (t.main_values.size() + t.aux_values.size() + t.quotient_values.size());
  }
  for (const FriLayerProof& l : proof.fri_layers) {
    b.commitments += 32;
    b.fri_openings += 8 * l.opening.values.size();
    b.fri_paths += 32 * l.opening.siblings.size();
  }
  b.final_poly = 24 * proof.final_poly.size();
  return b;
}

}  // namespace prover::stark
