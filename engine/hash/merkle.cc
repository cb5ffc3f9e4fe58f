#include "engine/hash/merkle.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover {
namespace {

bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

Digest HashPair(const Digest& left, const Digest& right) {
  uint8_t buf[64];
  std::memcpy(buf, left.data(), 32);
  std::memcpy(buf + 32, right.data(), 32);
  return Keccak256(std::span<const uint8_t>(buf, 64));
}

// Runs body(begin, end) over [0, count) in parallel chunks, or inline when small.
template <typename Body>
void ForRange(size_t count, size_t grain, Body body) {
  if (count < kMerkleSequentialBelow) {
    body(size_t{0}, count);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<size_t>(0, count, grain),
                    [&](const tbb::blocked_range<size_t>& r) { body(r.begin(), r.end()); });
}

}  // namespace

Digest HashRow(std::span<const Fp> row) {
  std::vector<const uint64_t*> cols(row.size());
  for (size_t c = 0; c < row.size(); ++c) cols[c] = reinterpret_cast<const uint64_t*>(&row[c]);
  Digest d;
  Keccak256ColumnRows(cols, 0, 1, &d);
  return d;
}

absl::StatusOr<MerkleTree> MerkleTree::Allocate(size_t rows) {
  if (!IsPowerOfTwo(rows)) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle: the number of rows (", rows, ") must be a power of two"));
  }
  MerkleTree t;
  t.num_leaves_ = rows;
  t.nodes_ = AlignedBuffer<Digest>(2 * rows);
  return t;
}

absl::StatusOr<MerkleTree> MerkleTree::Build(std::span<const Fp* const> columns, size_t rows) {
  auto tree = Allocate(rows);
  if (!tree.ok()) return tree.status();
  MerkleTree& t = *tree;
  std::vector<const uint64_t*> cols(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    cols[c] = reinterpret_cast<const uint64_t*>(columns[c]);  // Fp is one canonical u64
  }
  Digest* leaves = t.nodes_.data() + rows;
  ForRange(rows, 512, [&](size_t begin, size_t end) {
    Keccak256ColumnRows(cols, begin, end - begin, leaves + begin);
  });
  t.BuildInnerNodes();
  return tree;
}

absl::StatusOr<MerkleTree> MerkleTree::BuildFromRows(const Fp* data, size_t row_len, size_t rows) {
  auto tree = Allocate(rows);
  if (!tree.ok()) return tree.status();
  MerkleTree& t = *tree;
  // Fp is one canonical u64, so the rows' memory is their little-endian encoding.
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(data);
  const size_t len = 8 * row_len;
  Digest* leaves = t.nodes_.data() + rows;
  ForRange(rows, 256, [&](size_t begin, size_t end) {
    Keccak256Batch(bytes + len * begin, len, len, end - begin, leaves + begin);
  });
  t.BuildInnerNodes();
  return tree;
}

absl::StatusOr<MerkleTree> MerkleTree::FromLeaves(std::span<const Digest> leaves) {
  if (!IsPowerOfTwo(leaves.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle: the number of leaves (", leaves.size(), ") must be a power of two"));
  }
  MerkleTree t;
  t.num_leaves_ = leaves.size();
  t.nodes_ = AlignedBuffer<Digest>(2 * leaves.size());
  std::copy(leaves.begin(), leaves.end(), t.nodes_.begin() + leaves.size());
  t.BuildInnerNodes();
  return t;
}

void MerkleTree::BuildInnerNodes() {
  // With one leaf there is nothing to do: leaf 0 sits at index 1, the root.
  for (size_t m = num_leaves_; m > 1; m /= 2) {
    // Parents [m/2, m) from children [m, 2m): parent i hashes the 64 bytes at child 2i.
    const uint8_t* children = reinterpret_cast<const uint8_t*>(nodes_.data() + m);
    Digest* parents = nodes_.data() + m / 2;
    ForRange(m / 2, 512, [&](size_t begin, size_t end) {
      Keccak256Batch(children + 64 * begin, 64, 64, end - begin, parents + begin);
    });
  }
}

absl::StatusOr<MerkleProof> MerkleTree::Open(std::span<const size_t> indices) const {
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_leaves_ || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("merkle: indices[", k, "] = ", indices[k],
                       " is out of range or not strictly increasing"));
    }
  }
  MerkleProof proof;
  std::vector<size_t> level(indices.begin(), indices.end()), next;
  for (size_t& x : level) x += num_leaves_;
  while (!level.empty() && level[0] > 1) {
    next.clear();
    for (size_t k = 0; k < level.size(); ++k) {
      const size_t x = level[k];
      if ((x & 1) == 0 && k + 1 < level.size() && level[k + 1] == x + 1) {
        ++k;  // both children known: no sibling needed
      } else {
        proof.siblings.push_back(nodes_[x ^ 1]);
      }
      next.push_back(x / 2);
    }
    level.swap(next);
  }
  return proof;
}

absl::Status VerifyMerkleProof(const Digest& root, size_t num_leaves,
                               std::span<const size_t> indices, std::span<const Digest> leaf_hashes,
                               const MerkleProof& proof) {
  if (!IsPowerOfTwo(num_leaves)) {
    return absl::InvalidArgumentError("merkle: the number of leaves is not a power of two");
  }
  if (indices.empty() || indices.size() != leaf_hashes.size()) {
    return absl::InvalidArgumentError("merkle: no leaves, or indices and leaves differ in count");
  }
  std::vector<std::pair<size_t, Digest>> level, next;
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_leaves || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("merkle: indices[", k, "] is out of range or not strictly increasing"));
    }
    level.emplace_back(num_leaves + indices[k], leaf_hashes[k]);
  }
  size_t used = 0;
  while (level[0].first > 1) {
    next.clear();
    for (size_t k = 0; k < level.size(); ++k) {
      const auto& [x, h] = level[k];
      Digest parent;
      if ((x & 1) == 0 && k + 1 < level.size() && level[k + 1].first == x + 1) {
        parent = HashPair(h, level[k + 1].second);
        ++k;
      } else {
        if (used == proof.siblings.size()) {
          return absl::InvalidArgumentError("merkle: the proof is missing siblings");
        }
        const Digest& s = proof.siblings[used++];
        parent = (x & 1) == 0 ? HashPair(h, s) : HashPair(s, h);
      }
      next.emplace_back(x / 2, parent);
    }
    level.swap(next);
  }
  if (used != proof.siblings.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle: the proof has ", proof.siblings.size() - used, " unused siblings"));
  }
  if (level[0].second != root) {
    return absl::InvalidArgumentError("merkle: the recomputed root does not match");
  }
  return absl::OkStatus();
}

}  // namespace prover
