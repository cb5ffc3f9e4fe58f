// Keccak-256 Merkle trees over the rows of a column set, with deduplicated multi-openings.
//
// Leaves: leaf r = Keccak256(canonical little-endian bytes of columns[0][r], ...,
// columns[C-1][r]) (8 bytes per value, columns in order). Inner node = Keccak256(left ||
// right) of the two 32-byte children. The number of leaves is a power of two; a tree of
// one leaf has that leaf as its root.
//
// Storage: heap order (root at index 1, children of i at 2i and 2i + 1, leaf r at n + r),
// so each level's parents hash one contiguous run of children. A tree built from rows
// (Build, BuildFromRows) stores only the levels above its lowest kMerkleUnstoredLevels:
// each stored bottom node covers a block of 2^kMerkleUnstoredLevels leaves, whose
// subtree is hashed in a small buffer while building and again, from the rows, for each
// opened block. That is 1/8 of the digests in memory (a tree over 2^23 rows holds 64 MiB
// instead of 512 MiB) for a few hundred extra hashes per opening; such a tree therefore
// refers to its rows, which must outlive it. Building runs in parallel on the current
// oneTBB arena, except for trees (and levels) of fewer than kMerkleSequentialBelow nodes,
// where threads cost more than they save.
//
// Multi-opening: for a set of leaf indices, the siblings needed to recompute the root that
// cannot be derived from the opened leaves themselves, each sent once. Order (the
// contract between Open and Verify): level by level from the leaves up, and within a
// level by increasing node index.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <stop_token>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/aligned_buffer.h"
#include "engine/base/scratch_pool.h"
#include "engine/field/goldilocks.h"
#include "engine/hash/keccak.h"

namespace prover {

inline constexpr size_t kMerkleSequentialBelow = 1024;
inline constexpr int kMerkleUnstoredLevels = 3;

struct MerkleProof {
  std::vector<Digest> siblings;
};

class MerkleTree {
 public:
  // Tree over `rows` rows of the given columns (each at least `rows` values long). The
  // columns must outlive the tree.
  // `stop` (both builders): polled every few hundred leaves; when requested the build
  // returns CANCELLED soon.
  static absl::StatusOr<MerkleTree> Build(std::span<const Fp* const> columns, size_t rows,
                                          const std::stop_token& stop = {});
  // Tree over `rows` rows stored one after the other: row r is the `row_len` values at
  // data + r * row_len (the same leaf hash as Build over columns holding them). The data
  // must outlive the tree.
  static absl::StatusOr<MerkleTree> BuildFromRows(const Fp* data, size_t row_len, size_t rows,
                                                  const std::stop_token& stop = {});
  // Tree over leaf digests computed elsewhere (every level stored).
  static absl::StatusOr<MerkleTree> FromLeaves(std::span<const Digest> leaves);

  const Digest& root() const { return nodes_[1]; }
  size_t num_leaves() const { return num_leaves_; }
  Digest leaf(size_t i) const;

  // Opening of the leaves at `indices`, which must be sorted, unique and in range.
  absl::StatusOr<MerkleProof> Open(std::span<const size_t> indices) const;

 private:
  MerkleTree() = default;
  // A tree of `rows` leaves whose lowest `unstored` levels are not kept, with
  // uninitialised nodes; rows must be a power of two.
  static absl::StatusOr<MerkleTree> Allocate(size_t rows, int unstored);
  size_t stored_base() const { return num_leaves_ >> unstored_; }  // nodes of the lowest kept level
  // out[i] = leaf hash of row begin + i.
  void HashLeaves(size_t begin, size_t count, Digest* out) const;
  // The stored bottom level from the rows, then the levels above it.
  void BuildFromLeafSource(const std::stop_token& stop);
  void BuildInnerNodes();

  size_t num_leaves_ = 0;
  int unstored_ = 0;  // levels below the stored bottom level (0: leaves stored)
  // Heap indices [1, 2 * stored_base()); nodes_[0] unused. Large trees take their nodes
  // from the process-wide ScratchPool (a service builds trees of the same sizes proof after
  // proof, and fresh pages cost a kernel page clear each), small ones own them.
  Digest* nodes_ = nullptr;
  std::optional<ScratchPool::Lease> pooled_;
  AlignedBuffer<Digest> owned_;
  // Where the leaves come from: columns, or rows of row_bytes_ bytes at rows_.
  std::vector<const uint64_t*> columns_;
  const uint8_t* rows_ = nullptr;
  size_t row_bytes_ = 0;
};

// The walk of a multi-opening, which fixes the order of its siblings (the contract between
// Open and VerifyMerkleProof): from the leaves up, level by level and by increasing heap
// index within a level, a known node whose sibling is the next known node is combined with
// it; any other needs its sibling, the proof's next. `level` holds the opened leaves as
// (heap index, value), sorted and unique; `sibling(heap index)` gives a sibling's value,
// or an error that ends the walk; `combine(left, right)` gives a parent's. Returns the
// root's value.
template <typename T, typename Sibling, typename Combine>
absl::StatusOr<T> WalkMultiOpening(std::vector<std::pair<uint64_t, T>> level, Sibling&& sibling,
                                   Combine&& combine) {
  if (level.empty()) return absl::InvalidArgumentError("merkle: no leaves to open");
  std::vector<std::pair<uint64_t, T>> next;
  while (level[0].first > 1) {
    next.clear();
    for (size_t k = 0; k < level.size(); ++k) {
      const uint64_t x = level[k].first;
      if ((x & 1) == 0 && k + 1 < level.size() && level[k + 1].first == x + 1) {
        next.emplace_back(x / 2, combine(level[k].second, level[k + 1].second));
        ++k;  // both children known: no sibling needed
        continue;
      }
      absl::StatusOr<T> s = sibling(x ^ 1);
      if (!s.ok()) return s.status();
      next.emplace_back(x / 2,
                        (x & 1) == 0 ? combine(level[k].second, *s) : combine(*s, level[k].second));
    }
    level.swap(next);
  }
  return std::move(level[0].second);
}

// The heap indices of the siblings a multi-opening of `leaves` (sorted, unique, below
// num_leaves, a power of two) sends, in the order it sends them.
std::vector<uint64_t> MultiOpeningSiblings(uint64_t num_leaves, std::span<const uint64_t> leaves);

// Leaf hash of one row given as values.
Digest HashRow(std::span<const Fp> row);
// Leaf hashes of rows stored one after the other (`width` values each), hashed in SIMD
// batches: what a verifier computes for an opening's rows.
std::vector<Digest> HashRows(std::span<const Fp> values, size_t width);

// Checks that leaf_hashes[k] is the leaf at indices[k] of a tree of num_leaves leaves with
// the given root. Rejects unsorted, duplicate or out-of-range indices, a proof with
// missing or extra siblings, and any mismatch, with a reason.
absl::Status VerifyMerkleProof(const Digest& root, size_t num_leaves,
                               std::span<const size_t> indices, std::span<const Digest> leaf_hashes,
                               const MerkleProof& proof);

}  // namespace prover
