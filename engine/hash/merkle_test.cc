#include "engine/hash/merkle.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "engine/testing/simd_levels.h"
#include "tbb/global_control.h"

namespace prover {
namespace {

using testing::ForEachSimdLevel;

struct Table {
  std::vector<std::vector<Fp>> cols;
  std::vector<const Fp*> ptrs() const {
    std::vector<const Fp*> p;
    for (auto& c : cols) p.push_back(c.data());
    return p;
  }
  std::vector<Fp> row(size_t r) const {
    std::vector<Fp> v;
    for (auto& c : cols) v.push_back(c[r]);
    return v;
  }
};

Table RandomTable(size_t num_cols, size_t rows, std::mt19937_64& rng) {
  Table t;
  t.cols.assign(num_cols, std::vector<Fp>(rows));
  for (auto& c : t.cols)
    for (auto& x : c) x = Fp::FromU64(rng());
  return t;
}

Digest HashPairRef(const Digest& a, const Digest& b) {
  std::vector<uint8_t> buf(a.begin(), a.end());
  buf.insert(buf.end(), b.begin(), b.end());
  return Keccak256(buf);
}

// The naive tree: list of levels, built with the scalar hash.
Digest NaiveRoot(const Table& t, size_t rows) {
  std::vector<Digest> level;
  for (size_t r = 0; r < rows; ++r) {
    std::vector<uint8_t> bytes;
    for (auto& c : t.cols)
      for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<uint8_t>(c[r].value() >> (8 * b)));
    level.push_back(Keccak256(bytes));
  }
  while (level.size() > 1) {
    std::vector<Digest> next;
    for (size_t i = 0; i < level.size(); i += 2)
      next.push_back(HashPairRef(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

TEST(MerkleTree, RootMatchesNaiveTreeOnEverySimdPath) {
  std::mt19937_64 rng(0x5eed0701);
  for (size_t rows : {1, 2, 4, 8, 64, 1024, 4096}) {
    for (size_t num_cols : {1, 16, 17, 40}) {
      Table t = RandomTable(num_cols, rows, rng);
      const Digest want = NaiveRoot(t, rows);
      ForEachSimdLevel([&](SimdLevel) {
        auto tree = MerkleTree::Build(t.ptrs(), rows);
        ASSERT_TRUE(tree.ok());
        ASSERT_EQ(tree->root(), want) << "rows " << rows << " cols " << num_cols;
        ASSERT_EQ(tree->leaf(rows - 1), HashRow(t.row(rows - 1)));
      });
    }
  }
}

TEST(MerkleTree, SameRootWithOneAndTwoThreads) {
  std::mt19937_64 rng(0x5eed0702);
  Table t = RandomTable(8, 1 << 14, rng);
  Digest one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = MerkleTree::Build(t.ptrs(), 1 << 14)->root();
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = MerkleTree::Build(t.ptrs(), 1 << 14)->root();
  }
  EXPECT_EQ(one, two);
}

TEST(MerkleTree, RejectsNonPowerOfTwo) {
  std::vector<Fp> c(6);
  const Fp* p = c.data();
  EXPECT_FALSE(MerkleTree::Build(std::span<const Fp* const>(&p, 1), 6).ok());
  EXPECT_FALSE(MerkleTree::Build(std::span<const Fp* const>(&p, 1), 0).ok());
  EXPECT_FALSE(MerkleTree::FromLeaves(std::vector<Digest>(3)).ok());
}

std::vector<Digest> LeafHashes(const MerkleTree& tree, const std::vector<size_t>& idx) {
  std::vector<Digest> out;
  for (size_t i : idx) out.push_back(tree.leaf(i));
  return out;
}

TEST(MerkleProof, EveryOpenedSetVerifiesAndSharesSiblings) {
  const uint64_t seed = 0x5eed0703;
  std::mt19937_64 rng(seed);
  Table t = RandomTable(5, 256, rng);
  auto tree = MerkleTree::Build(t.ptrs(), 256);
  ASSERT_TRUE(tree.ok());
  // Single leaves: exactly depth siblings.
  for (size_t i = 0; i < 256; ++i) {
    std::vector<size_t> idx = {i};
    auto proof = tree->Open(idx);
    ASSERT_TRUE(proof.ok());
    ASSERT_EQ(proof->siblings.size(), 8u);
    ASSERT_TRUE(VerifyMerkleProof(tree->root(), 256, idx, LeafHashes(*tree, idx), *proof).ok())
        << i;
  }
  // Random sets: verify, and never more siblings than separate openings would need.
  for (int trial = 0; trial < 200; ++trial) {
    std::set<size_t> s;
    size_t k = 1 + rng() % 40;
    while (s.size() < k) s.insert(rng() % 256);
    std::vector<size_t> idx(s.begin(), s.end());
    auto proof = tree->Open(idx);
    ASSERT_TRUE(proof.ok());
    ASSERT_LT(proof->siblings.size(), 8 * idx.size() + (idx.size() == 1 ? 1 : 0));
    ASSERT_TRUE(VerifyMerkleProof(tree->root(), 256, idx, LeafHashes(*tree, idx), *proof).ok())
        << "seed " << seed << " trial " << trial;
  }
  // Two sibling leaves need depth - 1 siblings; all leaves need none.
  std::vector<size_t> pair = {6, 7};
  EXPECT_EQ(tree->Open(pair)->siblings.size(), 7u);
  std::vector<size_t> all(256);
  for (size_t i = 0; i < 256; ++i) all[i] = i;
  auto full = tree->Open(all);
  EXPECT_TRUE(full->siblings.empty());
  EXPECT_TRUE(VerifyMerkleProof(tree->root(), 256, all, LeafHashes(*tree, all), *full).ok());
}

TEST(MerkleProof, EveryChangedByteIsRejected) {
  std::mt19937_64 rng(0x5eed0704);
  Table t = RandomTable(3, 64, rng);
  auto tree = MerkleTree::Build(t.ptrs(), 64);
  std::vector<size_t> idx = {3, 17, 18, 40};
  auto proof = tree->Open(idx);
  ASSERT_TRUE(proof.ok());
  const std::vector<Digest> leaves = LeafHashes(*tree, idx);
  const Digest root = tree->root();
  ASSERT_TRUE(VerifyMerkleProof(root, 64, idx, leaves, *proof).ok());
  // Every byte of every leaf hash.
  for (size_t l = 0; l < leaves.size(); ++l) {
    for (size_t b = 0; b < 32; ++b) {
      auto bad = leaves;
      bad[l][b] ^= 0x01;
      ASSERT_FALSE(VerifyMerkleProof(root, 64, idx, bad, *proof).ok()) << l << " " << b;
    }
  }
  // Every byte of every sibling.
  for (size_t s = 0; s < proof->siblings.size(); ++s) {
    for (size_t b = 0; b < 32; ++b) {
      MerkleProof bad = *proof;
      bad.siblings[s][b] ^= 0x80;
      ASSERT_FALSE(VerifyMerkleProof(root, 64, idx, leaves, bad).ok()) << s << " " << b;
    }
  }
  // Every byte of the root.
  for (size_t b = 0; b < 32; ++b) {
    Digest bad = root;
    bad[b] ^= 0x10;
    ASSERT_FALSE(VerifyMerkleProof(bad, 64, idx, leaves, *proof).ok()) << b;
  }
  // A changed value in an opened row changes its leaf hash.
  std::vector<Fp> row = t.row(17);
  row[1] += Fp::One();
  auto bad_leaves = leaves;
  bad_leaves[1] = HashRow(row);
  EXPECT_FALSE(VerifyMerkleProof(root, 64, idx, bad_leaves, *proof).ok());
}

TEST(MerkleProof, StructuralErrorsAreRejected) {
  std::mt19937_64 rng(0x5eed0705);
  Table t = RandomTable(2, 32, rng);
  auto tree = MerkleTree::Build(t.ptrs(), 32);
  std::vector<size_t> idx = {1, 9};
  auto proof = tree->Open(idx);
  auto leaves = LeafHashes(*tree, idx);
  const Digest root = tree->root();
  MerkleProof missing = *proof;
  missing.siblings.pop_back();
  EXPECT_FALSE(VerifyMerkleProof(root, 32, idx, leaves, missing).ok());
  MerkleProof extra = *proof;
  extra.siblings.push_back(Digest{});
  EXPECT_FALSE(VerifyMerkleProof(root, 32, idx, leaves, extra).ok());
  std::vector<size_t> swapped = {9, 1};
  EXPECT_FALSE(VerifyMerkleProof(root, 32, swapped, leaves, *proof).ok());
  std::vector<size_t> dup = {1, 1};
  EXPECT_FALSE(VerifyMerkleProof(root, 32, dup, leaves, *proof).ok());
  EXPECT_FALSE(tree->Open(dup).ok());
  std::vector<size_t> out_of_range = {1, 32};
  EXPECT_FALSE(VerifyMerkleProof(root, 32, out_of_range, leaves, *proof).ok());
  EXPECT_FALSE(tree->Open(out_of_range).ok());
  // Other leaf positions for the same hashes.
  std::vector<size_t> moved = {1, 8};
  EXPECT_FALSE(VerifyMerkleProof(root, 32, moved, leaves, *proof).ok());
  // Another claimed tree size.
  EXPECT_FALSE(VerifyMerkleProof(root, 64, idx, leaves, *proof).ok());
}

// Trees built from rows keep only the levels above their lowest kMerkleUnstoredLevels and
// rehash the rest when opening: the same roots and siblings as a tree storing every level.
TEST(MerkleTree, RowTreesOpenLikeFullyStoredTrees) {
  std::mt19937_64 rng(0x5eed0706);
  for (size_t rows : {1, 2, 4, 8, 16, 32, 1024, 4096}) {
    Table t = RandomTable(3, rows, rng);
    std::vector<Digest> leaves(rows);
    std::vector<Fp> packed;  // the same rows one after the other
    for (size_t r = 0; r < rows; ++r) {
      leaves[r] = HashRow(t.row(r));
      for (Fp v : t.row(r)) packed.push_back(v);
    }
    auto full = MerkleTree::FromLeaves(leaves);
    auto by_cols = MerkleTree::Build(t.ptrs(), rows);
    auto by_rows = MerkleTree::BuildFromRows(packed.data(), 3, rows);
    ASSERT_TRUE(full.ok() && by_cols.ok() && by_rows.ok());
    ASSERT_EQ(by_cols->root(), full->root()) << rows;
    ASSERT_EQ(by_rows->root(), full->root()) << rows;
    for (int trial = 0; trial < 20; ++trial) {
      std::set<size_t> s;
      const size_t k = 1 + rng() % std::min<size_t>(rows, 12);
      while (s.size() < k) s.insert(rng() % rows);
      std::vector<size_t> idx(s.begin(), s.end());
      auto want = full->Open(idx);
      auto got_cols = by_cols->Open(idx);
      auto got_rows = by_rows->Open(idx);
      ASSERT_TRUE(want.ok() && got_cols.ok() && got_rows.ok());
      ASSERT_EQ(got_cols->siblings, want->siblings) << rows << " trial " << trial;
      ASSERT_EQ(got_rows->siblings, want->siblings) << rows << " trial " << trial;
      for (size_t i : idx) ASSERT_EQ(by_rows->leaf(i), leaves[i]);
      ASSERT_TRUE(
          VerifyMerkleProof(by_cols->root(), rows, idx, LeafHashes(*by_cols, idx), *got_cols).ok());
    }
  }
}

}  // namespace
}  // namespace prover
