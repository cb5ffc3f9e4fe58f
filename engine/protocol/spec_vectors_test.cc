// The test vectors of docs/PROTOCOL.md ("Test vectors"), recomputed by the implementation:
// the example AIR (the document's `json air-vector` block) and its canonical encoding and
// digest, the transcript's states, challenges, indices and proof of work, and a statement's
// initial transcript. The document's `text vectors` blocks must list exactly these values,
// so the specification and the code cannot drift apart. On a mismatch the test prints
// every value as the document should hold it.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/air/air.h"
#include "engine/air/air_proto.h"
#include "engine/hash/merkle.h"
#include "engine/hash/transcript.h"
#include "engine/protocol/params.h"
#include "engine/protocol/protocol.h"
#include "gtest/gtest.h"

#ifndef PROVER_SOURCE_DIR
#define PROVER_SOURCE_DIR "."
#endif

namespace prover::stark {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

// The fenced blocks of the document whose opening line is exactly `opening`.
std::vector<std::string> Blocks(const std::string& doc, const std::string& opening) {
  std::vector<std::string> out;
  std::istringstream in(doc);
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == opening) {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      out.push_back(block);
    } else if (inside) {
      block += line + "\n";
    }
  }
  return out;
}

// `name: value` lines; a line starting with spaces continues the value before it (long hex
// is wrapped).
std::map<std::string, std::string> ParseVectors(const std::vector<std::string>& blocks) {
  std::map<std::string, std::string> v;
  std::string last;
  for (const std::string& block : blocks) {
    std::istringstream in(block);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line[0] == ' ') {
        v[last] += line.substr(line.find_first_not_of(' '));
        continue;
      }
      const size_t colon = line.find(": ");
      if (colon == std::string::npos) continue;
      last = line.substr(0, colon);
      v[last] = line.substr(colon + 2);
    }
  }
  return v;
}

// How the document writes a value: long hex wrapped at 64 digits.
std::string AsDocLine(const std::string& name, const std::string& value) {
  if (value.size() <= 64) return name + ": " + value;
  std::string s = name + ":";
  for (size_t i = 0; i < value.size(); i += 64) {
    s += (i == 0 ? " " : "\n  ") + value.substr(i, 64);
  }
  return s;
}

std::string Words(std::span<const uint64_t> v) { return absl::StrJoin(v, " "); }

TEST(ProtocolVectors, TheDocumentListsWhatTheImplementationComputes) {
  std::ifstream file(std::string(PROVER_SOURCE_DIR) + "/docs/PROTOCOL.md");
  ASSERT_TRUE(file.good()) << "docs/PROTOCOL.md not found under " << PROVER_SOURCE_DIR;
  std::stringstream ss;
  ss << file.rdbuf();
  const std::string doc = ss.str();

  const std::vector<std::string> json = Blocks(doc, "```json air-vector");
  ASSERT_EQ(json.size(), 1u) << "one `json air-vector` block";
  auto air = air::AirFromJson(json[0]);
  ASSERT_TRUE(air.ok()) << air.status();

  std::vector<std::pair<std::string, std::string>> want;
  const std::vector<uint8_t> encoding = air::AirEncoding(*air);
  want.emplace_back("air.encoding", Hex(encoding));
  want.emplace_back("air.digest", Hex(air::AirDigest(*air)));

  Transcript tr(kDomainSeparator);
  want.emplace_back("transcript.start", Hex(tr.state()));
  const uint8_t message[] = {'a', 'b', 'c'};
  tr.Absorb("label", message);
  want.emplace_back("transcript.after_absorb", Hex(tr.state()));
  const Fp3 c = tr.ChallengeFp3("extension");
  const uint64_t coeffs[] = {c.coeff(0).value(), c.coeff(1).value(), c.coeff(2).value()};
  want.emplace_back("transcript.challenge_fp3", Words(coeffs));
  want.emplace_back("transcript.after_challenge", Hex(tr.state()));
  const std::vector<uint64_t> indices = tr.ChallengeIndices("indices", 8, 12);
  want.emplace_back("transcript.indices", Words(indices));
  want.emplace_back("transcript.grind_10", absl::StrCat(tr.Grind(10)));

  ProofParams params;  // the defaults, with a committed layer 0 (v = 0)
  params.first_layer = FirstLayer::kCommitted;
  const int heights[] = {3, 2};
  const Fp publics[] = {Fp::FromU64(5)};
  Transcript st = StartTranscript(params, *air, heights, publics);
  want.emplace_back("statement.start", Hex(st.state()));
  params.first_layer = FirstLayer::kVirtual;
  want.emplace_back("statement.start_v1",
                    Hex(StartTranscript(params, *air, heights, publics).state()));

  // Merkle trees: A (4 rows: 10r, 10r + 1), B (4 rows: 100 + r), C (2 rows: 200 + r); a
  // tree over A alone and one over A, B, C; the latter's multi-opening of bottom node 1.
  std::vector<Fp> a0(4), a1(4), b(4), cc(2);
  for (uint64_t r = 0; r < 4; ++r) {
    a0[r] = Fp::FromU64(10 * r), a1[r] = Fp::FromU64(10 * r + 1), b[r] = Fp::FromU64(100 + r);
  }
  for (uint64_t r = 0; r < 2; ++r) cc[r] = Fp::FromU64(200 + r);
  const Fp* a_cols[] = {a0.data(), a1.data()};
  const Fp* b_cols[] = {b.data()};
  const Fp* c_cols[] = {cc.data()};
  const MerkleMatrix ma = MerkleMatrix::OfColumns(a_cols, 4);
  const std::vector<MerkleMatrix> abc = {ma, MerkleMatrix::OfColumns(b_cols, 4),
                                         MerkleMatrix::OfColumns(c_cols, 2)};
  auto single = MerkleTree::Build(std::span<const MerkleMatrix>(&ma, 1));
  auto mixed = MerkleTree::Build(abc);
  ASSERT_TRUE(single.ok() && mixed.ok());
  want.emplace_back("merkle.a_root", Hex(single->root()));
  want.emplace_back("merkle.abc_root", Hex(mixed->root()));
  const size_t one[] = {1};
  auto opening = mixed->Open(one);
  ASSERT_TRUE(opening.ok());
  std::vector<uint8_t> siblings;
  for (const Digest& d : opening->siblings) siblings.insert(siblings.end(), d.begin(), d.end());
  want.emplace_back("merkle.abc_open_1", Hex(siblings));
  const size_t three[] = {0, 1, 3};
  auto opening3 = mixed->Open(three);
  ASSERT_TRUE(opening3.ok());
  siblings.clear();
  for (const Digest& d : opening3->siblings) siblings.insert(siblings.end(), d.begin(), d.end());
  want.emplace_back("merkle.abc_open_0_1_3", Hex(siblings));

  const std::map<std::string, std::string> have = ParseVectors(Blocks(doc, "```text vectors"));
  std::string expected_block;
  for (const auto& [name, value] : want) expected_block += AsDocLine(name, value) + "\n";
  for (const auto& [name, value] : want) {
    auto it = have.find(name);
    EXPECT_TRUE(it != have.end() && it->second == value)
        << name << ": the document has " << (it == have.end() ? "nothing" : it->second)
        << "\nThe document's vectors should read:\n"
        << expected_block;
  }
  EXPECT_EQ(have.size(), want.size()) << "the document lists vectors the test does not compute";
}

}  // namespace
}  // namespace prover::stark
