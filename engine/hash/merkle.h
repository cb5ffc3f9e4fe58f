// Keccak-256 Merkle trees over the rows of a column set, with deduplicated multi-openings.
//
// Leaves: leaf r = Keccak256(canonical little-endian bytes of columns[0][r], ...,
// columns[C-1][r]) (8 bytes per value, columns in order). Inner node = Keccak256(left ||
// right) of the two 32-byte children. The number of leaves is a power of two; a tree of
// one leaf has that leaf as its root.
//
// Storage: all 2n - 1 digests in heap order (root at index 1, children of i at 2i and
// 2i + 1, leaf r at n + r), so each level's parents hash one contiguous run of children.
// Building runs in parallel on the current oneTBB arena, except for trees (and levels) of
// fewer than kMerkleSequentialBelow nodes, where threads cost more than they save.
//
// Multi-opening: for a set of leaf indices, the siblings needed to recompute the root that
// cannot be derived from the opened leaves themselves, each sent once. Order (the
// contract between Open and Verify): level by level from the leaves up, and within a
// level by increasing node index.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/aligned_buffer.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"

namespace prover {

inline constexpr size_t kMerkleSequentialBelow = 1024;

struct MerkleProof {
  std::vector<Digest> siblings;
};

class MerkleTree {
 public:
  // Tree over `rows` rows of the given columns (each at least `rows` values long).
  static absl::StatusOr<MerkleTree> Build(std::span<const Fp* const> columns, size_t rows);
  // Tree over `rows` rows stored one after the other: row r is the `row_len` values at
  // data + r * row_len (the same leaf hash as Build over columns holding them).
  static absl::StatusOr<MerkleTree> BuildFromRows(const Fp* data, size_t row_len, size_t rows);
  // Tree over leaf digests computed elsewhere.
  static absl::StatusOr<MerkleTree> FromLeaves(std::span<const Digest> leaves);

  const Digest& root() const { return nodes_[1]; }
  size_t num_leaves() const { return num_leaves_; }
  const Digest& leaf(size_t i) const { return nodes_[num_leaves_ + i]; }

  // Opening of the leaves at `indices`, which must be sorted, unique and in range.
  absl::StatusOr<MerkleProof> Open(std::span<const size_t> indices) const;

 private:
  MerkleTree() = default;
  // A tree of `rows` leaves with uninitialised nodes; rows must be a power of two.
  static absl::StatusOr<MerkleTree> Allocate(size_t rows);
  void BuildInnerNodes();

  size_t num_leaves_ = 0;
  AlignedBuffer<Digest> nodes_;  // nodes_[0] unused
};

// Leaf hash of one row given as values.
Digest HashRow(std::span<const Fp> row);

// Checks that leaf_hashes[k] is the leaf at indices[k] of a tree of num_leaves leaves with
// the given root. Rejects unsorted, duplicate or out-of-range indices, a proof with
// missing or extra siblings, and any mismatch, with a reason.
absl::Status VerifyMerkleProof(const Digest& root, size_t num_leaves,
                               std::span<const size_t> indices, std::span<const Digest> leaf_hashes,
                               const MerkleProof& proof);

}  // namespace prover
