#include "engine/hash/merkle.h"

#include <algorithm>
#include <bit>
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

absl::StatusOr<MerkleTree> MerkleTree::Allocate(size_t rows, int unstored) {
  if (!IsPowerOfTwo(rows)) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle: the number of rows (", rows, ") must be a power of two"));
  }
  MerkleTree t;
  t.num_leaves_ = rows;
  t.unstored_ = 0;
  while (t.unstored_ < unstored && (rows >> (t.unstored_ + 1)) != 0) ++t.unstored_;
  const size_t count = 2 * t.stored_base();
  if (count * sizeof(Digest) >= (size_t{1} << 20)) {
    t.pooled_.emplace(ScratchPool::Global().Acquire(count * sizeof(Digest) / 8));
    t.nodes_ = reinterpret_cast<Digest*>(t.pooled_->words());
  } else {
    t.owned_ = AlignedBuffer<Digest>(count);
    t.nodes_ = t.owned_.data();
  }
  return t;
}

void MerkleTree::HashLeaves(size_t begin, size_t count, Digest* out) const {
  if (rows_ != nullptr) {
    Keccak256Batch(rows_ + row_bytes_ * begin, row_bytes_, row_bytes_, count, out);
  } else {
    Keccak256ColumnRows(columns_, begin, count, out);
  }
}

void MerkleTree::BuildFromLeafSource(const std::stop_token& stop) {
  const size_t base = stored_base(), block = size_t{1} << unstored_;
  Digest* stored = nodes_ + base;
  // Blocks of up to kLeaves leaves hashed into a buffer and reduced to their stored nodes.
  constexpr size_t kLeaves = 512;
  const size_t per_step = std::max<size_t>(1, kLeaves >> unstored_);
  ForRange(base, per_step, [&](size_t begin, size_t end) {
    Digest buf[2][kLeaves];
    for (size_t s = begin; s < end; s += per_step) {
      if (stop.stop_requested()) return;
      const size_t nodes = std::min(per_step, end - s);
      size_t count = nodes * block;
      if (unstored_ == 0) {
        HashLeaves(s, count, stored + s);
        continue;
      }
      HashLeaves(s * block, count, buf[0]);
      int from = 0;
      for (int level = 0; level < unstored_; ++level, count /= 2, from ^= 1) {
        Digest* out = level + 1 == unstored_ ? stored + s : buf[from ^ 1];
        Keccak256Batch(reinterpret_cast<const uint8_t*>(buf[from]), 64, 64, count / 2, out);
      }
    }
  });
  BuildInnerNodes();
}

absl::StatusOr<MerkleTree> MerkleTree::Build(std::span<const Fp* const> columns, size_t rows,
                                             const std::stop_token& stop) {
  auto tree = Allocate(rows, kMerkleUnstoredLevels);
  if (!tree.ok()) return tree.status();
  MerkleTree& t = *tree;
  t.columns_.resize(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    t.columns_[c] = reinterpret_cast<const uint64_t*>(columns[c]);  // Fp is one canonical u64
  }
  t.BuildFromLeafSource(stop);
  if (stop.stop_requested()) return absl::CancelledError("merkle: stopped");
  return tree;
}

absl::StatusOr<MerkleTree> MerkleTree::BuildFromRows(const Fp* data, size_t row_len, size_t rows,
                                                     const std::stop_token& stop) {
  auto tree = Allocate(rows, kMerkleUnstoredLevels);
  if (!tree.ok()) return tree.status();
  MerkleTree& t = *tree;
  // Fp is one canonical u64, so the rows' memory is their little-endian encoding.
  t.rows_ = reinterpret_cast<const uint8_t*>(data);
  t.row_bytes_ = 8 * row_len;
  t.BuildFromLeafSource(stop);
  if (stop.stop_requested()) return absl::CancelledError("merkle: stopped");
  return tree;
}

absl::StatusOr<MerkleTree> MerkleTree::FromLeaves(std::span<const Digest> leaves) {
  auto tree = Allocate(leaves.size(), 0);
  if (!tree.ok()) return tree.status();
  std::copy(leaves.begin(), leaves.end(), tree->nodes_ + leaves.size());
  tree->BuildInnerNodes();
  return tree;
}

void MerkleTree::BuildInnerNodes() {
  // With one stored node there is nothing to do: it sits at index 1, the root.
  for (size_t m = stored_base(); m > 1; m /= 2) {
    // Parents [m/2, m) from children [m, 2m): parent i hashes the 64 bytes at child 2i.
    const uint8_t* children = reinterpret_cast<const uint8_t*>(nodes_ + m);
    Digest* parents = nodes_ + m / 2;
    ForRange(m / 2, 512, [&](size_t begin, size_t end) {
      Keccak256Batch(children + 64 * begin, 64, 64, end - begin, parents + begin);
    });
  }
}

Digest MerkleTree::leaf(size_t i) const {
  if (unstored_ == 0) return nodes_[num_leaves_ + i];
  Digest d;
  HashLeaves(i, 1, &d);
  return d;
}

absl::StatusOr<MerkleProof> MerkleTree::Open(std::span<const size_t> indices) const {
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_leaves_ || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("merkle: indices[", k, "] = ", indices[k],
                       " is out of range or not strictly increasing"));
    }
  }
  // The unstored levels of each opened block, rehashed from the rows into a local heap
  // (block root at 1, its leaves at [B, 2B)). Indices are sorted, so blocks come in order.
  const size_t base = stored_base(), block = size_t{1} << unstored_;
  std::vector<std::pair<size_t, std::vector<Digest>>> blocks;
  for (size_t i : indices) {
    const size_t b = i / block;
    if (unstored_ == 0 || (!blocks.empty() && blocks.back().first == b)) continue;
    std::vector<Digest> local(2 * block);
    HashLeaves(b * block, block, local.data() + block);
    for (size_t x = block; x-- > 1;) local[x] = HashPair(local[2 * x], local[2 * x + 1]);
    blocks.emplace_back(b, std::move(local));
  }
  // node(x) for a heap index at or below the stored bottom level.
  auto node = [&](size_t x, size_t level_size) -> Digest {
    if (level_size <= base) return nodes_[x];
    const size_t below = level_size / base;  // nodes of this level per block
    const size_t b = (x - level_size) / below;
    const auto it = std::lower_bound(blocks.begin(), blocks.end(), b,
                                     [](const auto& e, size_t v) { return e.first < v; });
    return it->second[below + (x - level_size) % below];
  };
  MerkleProof proof;
  for (uint64_t x : MultiOpeningSiblings(num_leaves_, indices)) {
    proof.siblings.push_back(node(x, std::bit_floor(x)));  // a level of 2^k nodes starts at 2^k
  }
  return proof;
}

std::vector<uint64_t> MultiOpeningSiblings(uint64_t num_leaves, std::span<const uint64_t> leaves) {
  struct None {};
  std::vector<std::pair<uint64_t, None>> level;
  for (uint64_t i : leaves) level.emplace_back(num_leaves + i, None{});
  std::vector<uint64_t> out;
  (void)WalkMultiOpening(
      std::move(level),
      [&](uint64_t x) -> absl::StatusOr<None> {
        out.push_back(x);
        return None{};
      },
      [](None, None) { return None{}; });
  return out;
}

std::vector<Digest> HashRows(std::span<const Fp> values, size_t width) {
  const size_t rows = width == 0 ? 0 : values.size() / width;
  std::vector<Digest> out(rows);
  if (rows > 0) {
    Keccak256Batch(reinterpret_cast<const uint8_t*>(values.data()), 8 * width, 8 * width, rows,
                   out.data());
  }
  return out;
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
  std::vector<std::pair<uint64_t, Digest>> level;
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= num_leaves || (k > 0 && indices[k] <= indices[k - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("merkle: indices[", k, "] is out of range or not strictly increasing"));
    }
    level.emplace_back(num_leaves + indices[k], leaf_hashes[k]);
  }
  // WalkMultiOpening's order, one level at a time: the level's pairs are gathered first and
  // hashed together in SIMD batches (Keccak256Batch), a verifier's main cost.
  size_t used = 0;
  std::vector<uint8_t> pairs;
  std::vector<uint64_t> parents;
  std::vector<Digest> hashed;
  while (level[0].first > 1) {
    pairs.clear();
    parents.clear();
    for (size_t k = 0; k < level.size(); ++k) {
      const uint64_t x = level[k].first;
      const Digest* left = &level[k].second;
      const Digest* right = nullptr;
      if ((x & 1) == 0 && k + 1 < level.size() && level[k + 1].first == x + 1) {
        right = &level[++k].second;  // both children known: no sibling needed
      } else {
        if (used == proof.siblings.size()) {
          return absl::InvalidArgumentError("merkle: the proof is missing siblings");
        }
        const Digest* sibling = &proof.siblings[used++];
        if ((x & 1) == 0) {
          right = sibling;
        } else {
          right = left;
          left = sibling;
        }
      }
      pairs.insert(pairs.end(), left->begin(), left->end());
      pairs.insert(pairs.end(), right->begin(), right->end());
      parents.push_back(x / 2);
    }
    hashed.resize(parents.size());
    Keccak256Batch(pairs.data(), 64, 64, parents.size(), hashed.data());
    level.resize(parents.size());
    for (size_t k = 0; k < parents.size(); ++k) level[k] = {parents[k], hashed[k]};
  }
  const Digest& computed = level[0].second;
  if (used != proof.siblings.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle: the proof has ", proof.siblings.size() - used, " unused siblings"));
  }
  if (computed != root) {
    return absl::InvalidArgumentError("merkle: the recomputed root does not match");
  }
  return absl::OkStatus();
}

}  // namespace prover
