// Keccak-256 Merkle trees over the rows of one or more matrices, with deduplicated
// multi-openings (docs/PROTOCOL.md section 1).
//
// A tree commits to matrices of power-of-two heights. With H the tallest height, the level
// of 2^l nodes (l = log2 H at the bottom, 0 at the root) takes in the matrices of 2^l rows,
// in the order given. The row digest of row r of a matrix is Keccak256(its values, 8 bytes
// little-endian each, in order). Node i of level l is
//   - at the bottom level with one matrix: that matrix's row digest of row i;
//   - at the bottom level with matrices A, B, ...: Keccak256(d_A(i) || d_B(i) || ...);
//   - above it: Keccak256(left || right || d_A(i) || d_B(i) || ...) over the matrices of
//     2^l rows (just Keccak256(left || right) without any),
// so a tree over one matrix is the plain binary tree of its rows, and every matrix's row
// r sits on the path of the bottom nodes below node r of its level.
//
// Storage: heap order (root at index 1, children of i at 2i and 2i + 1, bottom node r at
// H + r), so each level's parents hash one contiguous run of children. A tree built from
// matrices stores only the levels above its lowest kMerkleUnstoredLevels: each stored
// bottom node covers a block of 2^kMerkleUnstoredLevels bottom nodes, whose subtree is
// hashed in a small buffer while building and again, from the rows, for each opened
// block. That is 1/8 of the digests in memory (a tree over 2^23 rows holds 64 MiB instead
// of 512 MiB) for a few hundred extra hashes per opening; such a tree therefore refers to
// its matrices' rows, which must outlive it. Building runs in parallel on the current
// oneTBB arena, except for trees (and levels) of fewer than kMerkleSequentialBelow nodes,
// where threads cost more than they save.
//
// Multi-opening: for a set of bottom indices, the siblings needed to recompute the root
// that cannot be derived from the opened nodes themselves, each sent once. Order (the
// contract between Open and Verify): level by level from the bottom up, and within a
// level by increasing node index. Opening bottom node r opens row r >> (log2 H - l) of
// every matrix of 2^l rows: the verifier needs those rows' digests to recompute the path.
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

// One matrix a tree commits to: `rows` rows (a power of two), given as columns (each at
// least `rows` values long) or as rows stored one after the other (`row_len` values each
// at row_data; Fp is one canonical u64, so that memory is the rows' encoding).
struct MerkleMatrix {
  size_t rows = 0;
  std::vector<const Fp*> columns;
  const Fp* row_data = nullptr;
  size_t row_len = 0;
  static MerkleMatrix OfColumns(std::span<const Fp* const> columns, size_t rows) {
    return MerkleMatrix{rows, std::vector<const Fp*>(columns.begin(), columns.end()), nullptr, 0};
  }
  static MerkleMatrix OfRows(const Fp* data, size_t row_len, size_t rows) {
    return MerkleMatrix{rows, {}, data, row_len};
  }
};

class MerkleTree {
 public:
  // Tree over the given matrices (at least one; heights powers of two), in that order. The
  // matrices' rows must outlive the tree. `stop` (every builder): polled every few hundred
  // rows; when requested the build returns CANCELLED soon.
  static absl::StatusOr<MerkleTree> Build(std::span<const MerkleMatrix> matrices,
                                          const std::stop_token& stop = {});
  // Tree over `rows` rows of the given columns (one matrix).
  static absl::StatusOr<MerkleTree> Build(std::span<const Fp* const> columns, size_t rows,
                                          const std::stop_token& stop = {});
  // Tree over `rows` rows stored one after the other: row r is the `row_len` values at
  // data + r * row_len (one matrix; the same tree as Build over columns holding them).
  static absl::StatusOr<MerkleTree> BuildFromRows(const Fp* data, size_t row_len, size_t rows,
                                                  const std::stop_token& stop = {});
  // Tree over bottom digests computed elsewhere (every level stored; no matrices).
  static absl::StatusOr<MerkleTree> FromLeaves(std::span<const Digest> leaves);

  const Digest& root() const { return nodes_[1]; }
  size_t num_leaves() const { return num_leaves_; }  // H, the bottom level's nodes
  Digest leaf(size_t i) const;                       // bottom node i

  // Opening of the bottom nodes at `indices`, which must be sorted, unique and in range:
  // the siblings only (the opened matrices' rows are the caller's to send).
  absl::StatusOr<MerkleProof> Open(std::span<const size_t> indices) const;

 private:
  MerkleTree() = default;
  // A tree of `rows` leaves whose lowest `unstored` levels are not kept, with
  // uninitialised nodes; rows must be a power of two.
  static absl::StatusOr<MerkleTree> Allocate(size_t rows, int unstored);
  size_t stored_base() const { return num_leaves_ >> unstored_; }  // nodes of the lowest kept level
  // Where a matrix's rows come from: columns, or rows of row_bytes bytes at rows.
  struct Source {
    std::vector<const uint64_t*> columns;
    const uint8_t* rows = nullptr;
    size_t row_bytes = 0;
  };
  // A tree over `matrices` with its levels' inputs set and its nodes allocated.
  static absl::StatusOr<MerkleTree> Prepare(std::span<const MerkleMatrix> matrices);
  // out[i] = row digest of row begin + i of source m.
  void RowDigests(size_t m, size_t begin, size_t count, Digest* out) const;
  // out[i] = bottom node begin + i.
  void HashLeaves(size_t begin, size_t count, Digest* out) const;
  // out[i] = node begin + i of the level of 2^log_level nodes, from its children
  // (children[2i], children[2i + 1]) and the rows of the matrices of that level.
  void ReduceLevel(int log_level, size_t begin, size_t count, const Digest* children,
                   Digest* out) const;
  // Digests of the matrices in `ms` at rows [begin, begin + count) appended after `prefix`
  // bytes of each message (filled by `fill_prefix(i, dst)`), then hashed into out.
  template <typename FillPrefix>
  void HashWithRows(const std::vector<uint32_t>& ms, size_t prefix, size_t begin, size_t count,
                    FillPrefix fill_prefix, Digest* out) const;
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
  int log_leaves_ = 0;
  std::vector<Source> sources_;
  // by_level_[l]: the matrices of 2^l rows, in the order given (empty for FromLeaves).
  std::vector<std::vector<uint32_t>> by_level_;
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

// Row digest of one row given as values.
Digest HashRow(std::span<const Fp> row);
// Row digests of rows stored one after the other (`width` values each), hashed in SIMD
// batches: what a verifier computes for an opening's rows.
std::vector<Digest> HashRows(std::span<const Fp> values, size_t width);

// What a verifier knows of one matrix of a tree: its height and the digests of its opened
// rows, at sorted, unique row indices.
struct OpenedMatrix {
  size_t rows = 0;
  std::span<const uint64_t> indices;
  std::span<const Digest> row_digests;
};

// Checks a multi-opening of a tree over `matrices` (in the tree's order) with the given
// root: the bottom nodes opened are the tallest matrices' indices, and every matrix of 2^l
// rows must be opened at exactly the nodes of its level the walk reaches. Rejects unsorted,
// duplicate or out-of-range indices, a matrix opened at other rows than its level needs, a
// proof with missing or extra siblings, and any mismatch, with a reason.
absl::Status VerifyMerkleMultiProof(const Digest& root, std::span<const OpenedMatrix> matrices,
                                    const MerkleProof& proof);

// The one-matrix case: leaf_hashes[k] is the row digest of row indices[k] of a matrix of
// num_leaves rows.
absl::Status VerifyMerkleProof(const Digest& root, size_t num_leaves,
                               std::span<const size_t> indices, std::span<const Digest> leaf_hashes,
                               const MerkleProof& proof);

}  // namespace prover
