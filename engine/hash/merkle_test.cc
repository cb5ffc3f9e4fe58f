#include "engine/hash/merkle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
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

// The naive tree over matrices of mixed heights (merkle.h): a row digest per matrix row,
// the matrices of each level hashed after the children, scalar hashing throughout.
Digest NaiveMixedRoot(const std::vector<Table>& ms) {
  auto row_digest = [](const Table& t, size_t r) {
    std::vector<uint8_t> bytes;
    for (auto& c : t.cols)
      for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<uint8_t>(c[r].value() >> (8 * b)));
    return Keccak256(bytes);
  };
  size_t h = 0;
  for (const Table& t : ms) h = std::max(h, t.cols[0].size());
  std::vector<Digest> level;
  for (size_t size = h; size >= 1; size /= 2) {
    std::vector<Digest> next(size);
    for (size_t i = 0; i < size; ++i) {
      std::vector<uint8_t> msg;
      if (size < h) {
        msg.insert(msg.end(), level[2 * i].begin(), level[2 * i].end());
        msg.insert(msg.end(), level[2 * i + 1].begin(), level[2 * i + 1].end());
      }
      std::vector<Digest> ds;
      for (const Table& t : ms) {
        if (t.cols[0].size() == size) ds.push_back(row_digest(t, i));
      }
      if (size == h && ds.size() == 1) {
        next[i] = ds[0];
        continue;
      }
      for (const Digest& d : ds) msg.insert(msg.end(), d.begin(), d.end());
      next[i] = msg.empty() ? HashPairRef(level[2 * i], level[2 * i + 1]) : Keccak256(msg);
    }
    level = next;
  }
  return level[0];
}

TEST(MerkleTree, MixedHeightsMatchTheNaiveTreeAndVerify) {
  std::mt19937_64 rng(0x5eed0702);
  // Heights chosen so that matrices enter inside the unstored bottom levels and above them,
  // alone and several at one level, some given as rows.
  const std::vector<std::vector<size_t>> shapes = {
      {64, 32},     {64, 64, 8},     {256, 128, 64, 32, 16, 2, 2}, {16, 256, 4, 256},
      {1024, 1, 1}, {8, 4, 2, 1, 8}, {2048, 256, 256, 256, 32}};
  for (const auto& heights : shapes) {
    std::vector<Table> tables;
    std::vector<std::vector<Fp>> packed;
    std::vector<MerkleMatrix> ms;
    for (size_t k = 0; k < heights.size(); ++k) {
      tables.push_back(RandomTable(1 + k % 3, heights[k], rng));
    }
    packed.resize(tables.size());
    for (size_t k = 0; k < tables.size(); ++k) {
      if (k % 2 == 1) {  // every other matrix as rows
        for (size_t r = 0; r < heights[k]; ++r) {
          const std::vector<Fp> row = tables[k].row(r);
          packed[k].insert(packed[k].end(), row.begin(), row.end());
        }
        ms.push_back(MerkleMatrix::OfRows(packed[k].data(), tables[k].cols.size(), heights[k]));
      } else {
        ms.push_back(MerkleMatrix::OfColumns(tables[k].ptrs(), heights[k]));
      }
    }
    auto tree = MerkleTree::Build(ms);
    ASSERT_TRUE(tree.ok()) << tree.status();
    const Digest want = NaiveMixedRoot(tables);
    ASSERT_EQ(tree->root(), want) << heights.size();
    const size_t h = tree->num_leaves();
    for (int trial = 0; trial < 20; ++trial) {
      std::set<uint64_t> picked;
      const size_t n = 1 + rng() % std::min<size_t>(h, 12);
      while (picked.size() < n) picked.insert(rng() % h);
      const std::vector<uint64_t> bottom(picked.begin(), picked.end());
      std::vector<size_t> idx(bottom.begin(), bottom.end());
      auto proof = tree->Open(idx);
      ASSERT_TRUE(proof.ok());
      // Each matrix's opened rows and their digests.
      std::vector<std::vector<uint64_t>> rows(tables.size());
      std::vector<std::vector<Digest>> digests(tables.size());
      std::vector<OpenedMatrix> opened;
      for (size_t k = 0; k < tables.size(); ++k) {
        const int shift = std::countr_zero(h) - std::countr_zero(heights[k]);
        for (uint64_t b : bottom) {
          if (rows[k].empty() || rows[k].back() != b >> shift) rows[k].push_back(b >> shift);
        }
        for (uint64_t r : rows[k]) digests[k].push_back(HashRow(tables[k].row(r)));
      }
      for (size_t k = 0; k < tables.size(); ++k) {
        opened.push_back(OpenedMatrix{heights[k], rows[k], digests[k]});
      }
      ASSERT_TRUE(VerifyMerkleMultiProof(want, opened, *proof).ok());
      // A changed row of any one matrix is caught.
      for (size_t k = 0; k < tables.size(); ++k) {
        std::vector<Digest> bad = digests[k];
        bad[rng() % bad.size()][3] ^= 1;
        std::vector<OpenedMatrix> tampered = opened;
        tampered[k].row_digests = bad;
        EXPECT_FALSE(VerifyMerkleMultiProof(want, tampered, *proof).ok()) << k;
      }
      // So is a smaller matrix opened at other rows than its level reaches.
      for (size_t k = 0; k < tables.size(); ++k) {
        if (heights[k] == h || rows[k].size() == heights[k]) continue;
        std::vector<uint64_t> other = rows[k];
        uint64_t r = 0;
        while (std::binary_search(other.begin(), other.end(), r)) ++r;
        other.back() = r;
        std::sort(other.begin(), other.end());
        std::vector<OpenedMatrix> moved = opened;
        moved[k].indices = other;
        const absl::Status s = VerifyMerkleMultiProof(want, moved, *proof);
        EXPECT_FALSE(s.ok()) << k;
        EXPECT_NE(std::string(s.message()).find("not opened at the rows"), std::string::npos) << s;
        break;
      }
    }
  }
}

TEST(MerkleTree, MixedHeightsRefuseAHeightThatIsNotAPowerOfTwo) {
  std::mt19937_64 rng(3);
  const Table a = RandomTable(2, 8, rng), b = RandomTable(1, 6, rng);
  const std::vector<MerkleMatrix> ms = {MerkleMatrix::OfColumns(a.ptrs(), 8),
                                        MerkleMatrix::OfColumns(b.ptrs(), 6)};
  const auto tree = MerkleTree::Build(ms);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(std::string(tree.status().message()).find("matrices[1]"), std::string::npos);
  EXPECT_FALSE(MerkleTree::Build(std::span<const MerkleMatrix>()).ok());
}

}  // namespace
}  // namespace prover
