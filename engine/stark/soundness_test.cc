// Soundness: every changed part of an honest proof, random byte changes of its encoding,
// other public inputs and another AIR are all rejected.
#include <functional>
#include <random>

#include "absl/strings/str_cat.h"
#include "engine/backend/cpu/cpu_backend.h"
#include "engine/stark/prover.h"
#include "engine/stark/verifier.h"
#include "engine/testing/random_air.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prover/v1/proof.pb.h"

namespace prover::stark {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Fixture {
  air::WorkloadInstance w;
  Proof proof;
  std::vector<uint8_t> bytes;
};

VerifyOptions NoFloor() {
  VerifyOptions v;
  v.min_security_bits = 0;
  return v;
}

// Four tables of different heights joined by buses; FRI with several layers; layer 0
// committed, or virtual (docs/PROTOCOL.md section 8).
const Fixture& Honest(FirstLayer first = FirstLayer::kCommitted) {
  static const Fixture* fixtures[2] = {nullptr, nullptr};
  const Fixture*& f = fixtures[first == FirstLayer::kVirtual ? 1 : 0];
  if (f != nullptr) return *f;
  f = [first] {
    auto* fx = new Fixture;
    testing::RandomAirOptions o;
    o.seed = 4;  // lookups with senders on several tables
    o.num_tables = 4;
    o.num_lookup_tables = 2;
    o.min_log_rows = 3;
    o.max_log_rows = 9;
    fx->w = testing::RandomAir(o);
    auto backend = backend::MakeCpuBackend();
    ProveOptions po;
    po.params = ProofParams{2, 12, 4, 2, 1};
    po.params.first_layer = first;
    po.min_security_bits = 0;
    auto r = Prove(*backend, fx->w.air, fx->w.trace, fx->w.public_inputs, po);
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      return fx;
    }
    fx->proof = r->proof;
    fx->bytes = EncodeProof(fx->proof);
    return fx;
  }();
  return *f;
}

TEST(Soundness, TheHonestProofHasEveryPart) {
  const Fixture& f = Honest();
  ASSERT_TRUE(Verify(f.w.air, f.w.public_inputs, f.proof, NoFloor()).ok());
  bool any_aux = false;
  for (const TableProof& t : f.proof.tables) any_aux |= t.has_aux;
  EXPECT_TRUE(any_aux);
  EXPECT_GE(f.proof.fri_layers.size(), 3u);
  EXPECT_GE(f.proof.final_poly.size(), 2u);
}

Fp Bump(Fp x) { return x + Fp::One(); }
Fp3 Bump(const Fp3& x) { return x + Fp3(Fp::Zero(), Fp::One(), Fp::Zero()); }
void Bump(Digest& d) { d[7] ^= 0x10; }

void ExpectEveryChangedPartRejected(const Fixture& f);

TEST(Soundness, EveryChangedPartIsRejected) {
  for (const FirstLayer first : {FirstLayer::kCommitted, FirstLayer::kVirtual}) {
    SCOPED_TRACE(first == FirstLayer::kVirtual ? "virtual layer 0" : "committed layer 0");
    const Fixture& f = Honest(first);
    ASSERT_EQ(f.proof.params.first_layer, first);
    ExpectEveryChangedPartRejected(f);
  }
}

void ExpectEveryChangedPartRejected(const Fixture& f) {
  std::vector<std::pair<std::string, std::function<void(Proof&)>>> edits;
  edits.push_back({"params.num_queries", [](Proof& p) { p.params.num_queries += 1; }});
  edits.push_back({"params.log_blowup", [](Proof& p) { p.params.log_blowup += 1; }});
  edits.push_back({"params.grinding_bits", [](Proof& p) { p.params.grinding_bits -= 1; }});
  edits.push_back({"params.log_fri_arity", [](Proof& p) { p.params.log_fri_arity += 1; }});
  edits.push_back({"params.log_final_size", [](Proof& p) { p.params.log_final_size += 1; }});
  edits.push_back(
      {"params.first_layer auto", [](Proof& p) { p.params.first_layer = FirstLayer::kAuto; }});
  edits.push_back({"params.first_layer", [](Proof& p) {
                     p.params.first_layer = p.params.first_layer == FirstLayer::kVirtual
                                                ? FirstLayer::kCommitted
                                                : FirstLayer::kVirtual;
                   }});
  edits.push_back({"security_bits", [](Proof& p) { p.security_bits += 1; }});
  edits.push_back({"proven_security_bits", [](Proof& p) { p.proven_security_bits += 1; }});
  edits.push_back({"pow_nonce", [](Proof& p) { p.pow_nonce += 1; }});
  // The trace rounds' trees: roots, a spread of siblings, a missing and an extra one.
  const std::pair<const char*, RoundCommitment Proof::*> rounds[] = {
      {"main", &Proof::main}, {"aux", &Proof::aux}, {"quotient", &Proof::quotient}};
  for (const auto& [name, member] : rounds) {
    const RoundCommitment& r = f.proof.*member;
    const std::string path = absl::StrCat(name, ".");
    edits.push_back({path + "root", [member](Proof& p) { Bump((p.*member).root); }});
    for (size_t k = 0; k < r.siblings.size(); k += 3) {
      edits.push_back({absl::StrCat(path, "siblings[", k, "]"),
                       [k, member](Proof& p) { Bump((p.*member).siblings[k]); }});
    }
    edits.push_back(
        {path + "dropped sibling", [member](Proof& p) { (p.*member).siblings.pop_back(); }});
    edits.push_back(
        {path + "extra sibling", [member](Proof& p) { (p.*member).siblings.push_back(Digest{}); }});
  }
  edits.push_back({"has_aux", [](Proof& p) { p.has_aux = false; }});
  for (size_t t = 0; t < f.proof.tables.size(); ++t) {
    const TableProof& tp = f.proof.tables[t];
    const std::string path = absl::StrCat("tables[", t, "].");
    edits.push_back({path + "log_rows", [t](Proof& p) { p.tables[t].log_rows += 1; }});
    if (tp.has_aux) {
      edits.push_back({path + "logup_sum",
                       [t](Proof& p) { p.tables[t].logup_sum = Bump(p.tables[t].logup_sum); }});
      edits.push_back({path + "has_aux", [t](Proof& p) { p.tables[t].has_aux = false; }});
    }
    auto ood_edits = [&](const char* name, size_t count, auto member) {
      for (size_t k = 0; k < count; ++k) {
        edits.push_back({absl::StrCat(path, "ood.", name, "[", k, "]"), [t, k, member](Proof& p) {
                           auto& v = p.tables[t].ood.*member;
                           v[k] = Bump(v[k]);
                         }});
      }
    };
    ood_edits("main", tp.ood.main.size(), &OodValues::main);
    ood_edits("main_next", tp.ood.main_next.size(), &OodValues::main_next);
    ood_edits("aux", tp.ood.aux.size(), &OodValues::aux);
    ood_edits("aux_next", tp.ood.aux_next.size(), &OodValues::aux_next);
    ood_edits("quotient", tp.ood.quotient.size(), &OodValues::quotient);
    auto value_edits = [&](const char* name, const std::vector<Fp>& values,
                           std::vector<Fp> TableProof::*member) {
      // Every value (a changed value changes its row digest), and a dropped one.
      for (size_t k = 0; k < values.size(); ++k) {
        edits.push_back({absl::StrCat(path, name, "[", k, "]"), [t, k, member](Proof& p) {
                           Fp& x = (p.tables[t].*member)[k];
                           x = Bump(x);
                         }});
      }
      edits.push_back({absl::StrCat(path, name, " dropped value"),
                       [t, member](Proof& p) { (p.tables[t].*member).pop_back(); }});
    };
    value_edits("main_values", tp.main_values, &TableProof::main_values);
    if (tp.has_aux) value_edits("aux_values", tp.aux_values, &TableProof::aux_values);
    value_edits("quotient_values", tp.quotient_values, &TableProof::quotient_values);
  }
  for (size_t i = 0; i < f.proof.fri_layers.size(); ++i) {
    const FriLayerProof& l = f.proof.fri_layers[i];
    const std::string path = absl::StrCat("fri_layers[", i, "].");
    edits.push_back({path + "root", [i](Proof& p) { Bump(p.fri_layers[i].root); }});
    for (size_t k = 0; k < l.opening.values.size(); ++k) {
      edits.push_back({absl::StrCat(path, "values[", k, "]"), [i, k](Proof& p) {
                         Fp& x = p.fri_layers[i].opening.values[k];
                         x = Bump(x);
                       }});
    }
    for (size_t k = 0; k < l.opening.siblings.size(); k += 2) {
      edits.push_back({absl::StrCat(path, "siblings[", k, "]"),
                       [i, k](Proof& p) { Bump(p.fri_layers[i].opening.siblings[k]); }});
    }
  }
  edits.push_back({"fri_layers dropped", [](Proof& p) { p.fri_layers.pop_back(); }});
  for (size_t k = 0; k < f.proof.final_poly.size(); ++k) {
    edits.push_back({absl::StrCat("final_poly[", k, "]"),
                     [k](Proof& p) { p.final_poly[k] = Bump(p.final_poly[k]); }});
  }
  edits.push_back({"final_poly extra", [](Proof& p) { p.final_poly.push_back(Fp3::Zero()); }});
  edits.push_back({"tables dropped", [](Proof& p) { p.tables.pop_back(); }});
  ASSERT_GT(edits.size(), 200u);
  for (const auto& [name, edit] : edits) {
    Proof p = f.proof;
    edit(p);
    const absl::Status s = Verify(f.w.air, f.w.public_inputs, p, NoFloor());
    EXPECT_FALSE(s.ok()) << name << " was accepted";
    EXPECT_THAT(std::string(s.message()), StartsWith("proof rejected: ")) << name;
  }
}

TEST(Soundness, RandomByteChangesOfTheEncodingAreRejected) {
  const Fixture& f = Honest();
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<uint8_t> b = f.bytes;
    const size_t pos = rng() % b.size();
    b[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
    EXPECT_FALSE(VerifyEncoded(f.w.air, f.w.public_inputs, b, NoFloor()).ok())
        << "byte " << pos << " of " << b.size();
  }
  std::vector<uint8_t> longer = f.bytes;
  longer.push_back(0);
  EXPECT_THAT(std::string(VerifyEncoded(f.w.air, f.w.public_inputs, longer, NoFloor()).message()),
              HasSubstr("proof"));
  std::vector<uint8_t> shorter(f.bytes.begin(), f.bytes.end() - 1);
  EXPECT_FALSE(VerifyEncoded(f.w.air, f.w.public_inputs, shorter, NoFloor()).ok());
  EXPECT_FALSE(VerifyEncoded(f.w.air, f.w.public_inputs, {}, NoFloor()).ok());
}

TEST(Soundness, OtherPublicInputsAreRejected) {
  const Fixture& f = Honest();
  for (size_t i = 0; i < f.w.public_inputs.size(); ++i) {
    std::vector<Fp> pi = f.w.public_inputs;
    pi[i] += Fp::One();
    EXPECT_FALSE(Verify(f.w.air, pi, f.proof, NoFloor()).ok()) << "public input " << i;
  }
}

TEST(Soundness, AnotherAirIsRejected) {
  const Fixture& f = Honest();
  air::Air other = f.w.air;
  other.tables[0].name += "x";  // the digest changes, so every challenge does
  EXPECT_FALSE(Verify(other, f.w.public_inputs, f.proof, NoFloor()).ok());
  air::Air fewer = f.w.air;
  fewer.tables[1].constraints.pop_back();
  EXPECT_FALSE(Verify(fewer, f.w.public_inputs, f.proof, NoFloor()).ok());
}

TEST(Soundness, TheSecurityFloorApplies) {
  const Fixture& f = Honest();
  VerifyOptions v;  // default floor 100 bits; the fixture has 2 * 12 + 4
  EXPECT_THAT(std::string(Verify(f.w.air, f.w.public_inputs, f.proof, v).message()),
              HasSubstr("below the minimum"));
}

TEST(ProofCodec, NonCanonicalElementsAreRejectedWithTheirPath) {
  const Fixture& f = Honest();
  // Values >= p would alias canonical ones (p + x is x); they are refused.
  v1::Proof m;
  ASSERT_TRUE(m.ParseFromArray(f.bytes.data(), int(f.bytes.size())));
  m.mutable_tables(1)->mutable_ood()->set_main(4, Fp::kModulus + 3);
  std::string b;
  ASSERT_TRUE(m.SerializeToString(&b));
  auto decoded = DecodeProof(std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("proof.tables[1].ood.main[4]: "));
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("not a canonical field element"));
}

TEST(ProofCodec, UnknownAndRepeatedFieldsAreRejected) {
  const Fixture& f = Honest();
  std::vector<uint8_t> unknown = f.bytes;
  unknown.insert(unknown.end(), {0xF8, 0x01, 0x05});  // field 31, varint 5
  EXPECT_THAT(std::string(DecodeProof(unknown).status().message()),
              HasSubstr("canonical encoding"));
  std::vector<uint8_t> repeated = f.bytes;
  // pow_nonce twice more: once could be the canonical encoding of a proof whose nonce is 0
  // (proto3 leaves a zero out), twice never is.
  repeated.insert(repeated.end(), {0x38, 0x01, 0x38, 0x01});
  EXPECT_FALSE(DecodeProof(repeated).ok());
  v1::Proof m;
  ASSERT_TRUE(m.ParseFromArray(f.bytes.data(), int(f.bytes.size())));
  // A proof of an earlier version (1: before the proven figure; 2: per-table trees) is
  // refused with what to do; a later one as unknown.
  for (uint32_t version : {1u, 2u, 4u}) {
    m.set_version(version);
    std::string b;
    ASSERT_TRUE(m.SerializeToString(&b));
    const std::string why(
        DecodeProof(std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()))
            .status()
            .message());
    EXPECT_THAT(why, HasSubstr(absl::StrCat("proof.version: ", version,
                                            "; this verifier reads version 3")));
    EXPECT_EQ(why.find("proved again") != std::string::npos, version < 3) << why;
  }
}

}  // namespace
}  // namespace prover::stark
