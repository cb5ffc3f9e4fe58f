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

absl::StatusOr<MerkleTree> MerkleTree::Prepare(std::span<const MerkleMatrix> matrices) {
  if (matrices.empty()) return absl::InvalidArgumentError("merkle: no matrices to commit to");
  size_t rows = 0;
  for (size_t m = 0; m < matrices.size(); ++m) {
    if (!IsPowerOfTwo(matrices[m].rows)) {
      return absl::InvalidArgumentError(absl::StrCat("merkle: matrices[", m, "] has ",
                                                     matrices[m].rows,
                                                     " rows; the number must be a power of two"));
    }
    rows = std::max(rows, matrices[m].rows);
  }
  auto tree = Allocate(rows, kMerkleUnstoredLevels);
  if (!tree.ok()) return tree.status();
  MerkleTree& t = *tree;
  t.log_leaves_ = std::countr_zero(rows);
  t.by_level_.resize(size_t(t.log_leaves_) + 1);
  for (size_t m = 0; m < matrices.size(); ++m) {
    const MerkleMatrix& in = matrices[m];
    Source src;
    if (in.row_data != nullptr) {
      src.rows = reinterpret_cast<const uint8_t*>(in.row_data);
      src.row_bytes = 8 * in.row_len;
    } else {
      // Fp is one canonical u64.
      for (const Fp* c : in.columns) src.columns.push_back(reinterpret_cast<const uint64_t*>(c));
    }
    t.sources_.push_back(std::move(src));
    t.by_level_[size_t(std::countr_zero(in.rows))].push_back(uint32_t(m));
  }
  return tree;
}

void MerkleTree::RowDigests(size_t m, size_t begin, size_t count, Digest* out) const {
  const Source& src = sources_[m];
  if (src.rows != nullptr) {
    Keccak256Batch(src.rows + src.row_bytes * begin, src.row_bytes, src.row_bytes, count, out);
  } else {
    Keccak256ColumnRows(src.columns, begin, count, out);
  }
}

template <typename FillPrefix>
void MerkleTree::HashWithRows(const std::vector<uint32_t>& ms, size_t prefix, size_t begin,
                              size_t count, FillPrefix fill_prefix, Digest* out) const {
  const size_t k = ms.size(), len = prefix + 32 * k;
  std::vector<Digest> rows(k * count);
  for (size_t j = 0; j < k; ++j) RowDigests(ms[j], begin, count, rows.data() + j * count);
  std::vector<uint8_t> msg(len * count);
  for (size_t i = 0; i < count; ++i) {
    uint8_t* dst = msg.data() + i * len;
    fill_prefix(i, dst);
    for (size_t j = 0; j < k; ++j)
      std::memcpy(dst + prefix + 32 * j, rows[j * count + i].data(), 32);
  }
  Keccak256Batch(msg.data(), len, len, count, out);
}

void MerkleTree::HashLeaves(size_t begin, size_t count, Digest* out) const {
  const std::vector<uint32_t>& ms = by_level_[size_t(log_leaves_)];
  if (ms.size() == 1) {
    RowDigests(ms[0], begin, count, out);
    return;
  }
  HashWithRows(
      ms, 0, begin, count, [](size_t, uint8_t*) {}, out);
}

void MerkleTree::ReduceLevel(int log_level, size_t begin, size_t count, const Digest* children,
                             Digest* out) const {
  const uint8_t* pairs = reinterpret_cast<const uint8_t*>(children);
  if (size_t(log_level) >= by_level_.size() || by_level_[size_t(log_level)].empty()) {
    Keccak256Batch(pairs, 64, 64, count, out);
    return;
  }
  HashWithRows(
      by_level_[size_t(log_level)], 64, begin, count,
      [&](size_t i, uint8_t* dst) { std::memcpy(dst, pairs + 64 * i, 64); }, out);
}

void MerkleTree::BuildFromLeafSource(const std::stop_token& stop) {
  const size_t base = stored_base(), block = size_t{1} << unstored_;
  Digest* stored = nodes_ + base;
  // Blocks of up to kLeaves bottom nodes hashed into a buffer and reduced to their stored
  // nodes.
  constexpr size_t kLeaves = 512;
  const size_t per_step = std::max<size_t>(1, kLeaves >> unstored_);
  ForRange(base, per_step, [&](size_t begin, size_t end) {
    std::vector<Digest> buf[2] = {std::vector<Digest>(kLeaves), std::vector<Digest>(kLeaves)};
    for (size_t s = begin; s < end; s += per_step) {
      if (stop.stop_requested()) return;
      const size_t nodes = std::min(per_step, end - s);
      size_t count = nodes * block;
      if (unstored_ == 0) {
        HashLeaves(s, count, stored + s);
        continue;
      }
      HashLeaves(s * block, count, buf[0].data());
      int from = 0;
      for (int level = 0; level < unstored_; ++level, count /= 2, from ^= 1) {
        Digest* out = level + 1 == unstored_ ? stored + s : buf[from ^ 1].data();
        ReduceLevel(log_leaves_ - level - 1, (s * block) >> (level + 1), count / 2,
                    buf[from].data(), out);
      }
    }
  });
  BuildInnerNodes();
}

absl::StatusOr<MerkleTree> MerkleTree::Build(std::span<const MerkleMatrix> matrices,
                                             const std::stop_token& stop) {
  auto tree = Prepare(matrices);
  if (!tree.ok()) return tree.status();
  tree->BuildFromLeafSource(stop);
  if (stop.stop_requested()) return absl::CancelledError("merkle: stopped");
  return tree;
}

absl::StatusOr<MerkleTree> MerkleTree::Build(std::span<const Fp* const> columns, size_t rows,
                                             const std::stop_token& stop) {
  const MerkleMatrix m = MerkleMatrix::OfColumns(columns, rows);
  return Build(std::span<const MerkleMatrix>(&m, 1), stop);
}

absl::StatusOr<MerkleTree> MerkleTree::BuildFromRows(const Fp* data, size_t row_len, size_t rows,
                                                     const std::stop_token& stop) {
  const MerkleMatrix m = MerkleMatrix::OfRows(data, row_len, rows);
  return Build(std::span<const MerkleMatrix>(&m, 1), stop);
}

absl::StatusOr<MerkleTree> MerkleTree::FromLeaves(std::span<const Digest> leaves) {
  auto tree = Allocate(leaves.size(), 0);
  if (!tree.ok()) return tree.status();
  tree->log_leaves_ = std::countr_zero(leaves.size());
  std::copy(leaves.begin(), leaves.end(), tree->nodes_ + leaves.size());
  tree->BuildInnerNodes();
  return tree;
}

void MerkleTree::BuildInnerNodes() {
  // With one stored node there is nothing to do: it sits at index 1, the root.
  for (size_t m = stored_base(); m > 1; m /= 2) {
    // Parents [m/2, m) from children [m, 2m): parent i hashes the two children at 2i.
    const Digest* children = nodes_ + m;
    Digest* parents = nodes_ + m / 2;
    const int log_level = std::countr_zero(m / 2);
    ForRange(m / 2, 512, [&](size_t begin, size_t end) {
      ReduceLevel(log_level, begin, end - begin, children + 2 * begin, parents + begin);
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
    for (size_t m = block, log_level = size_t(log_leaves_); m > 1; m /= 2, --log_level) {
      ReduceLevel(int(log_level) - 1, b * (m / 2), m / 2, local.data() + m, local.data() + m / 2);
    }
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

absl::Status VerifyMerkleMultiProof(const Digest& root, std::span<const OpenedMatrix> matrices,
                                    const MerkleProof& proof) {
  if (matrices.empty()) return absl::InvalidArgumentError("merkle: no matrices");
  size_t height = 0;
  for (size_t m = 0; m < matrices.size(); ++m) {
    const OpenedMatrix& om = matrices[m];
    if (!IsPowerOfTwo(om.rows)) {
      return absl::InvalidArgumentError(
          absl::StrCat("merkle: matrices[", m, "]: the number of rows is not a power of two"));
    }
    if (om.indices.empty() || om.indices.size() != om.row_digests.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "merkle: matrices[", m, "]: no rows, or indices and row digests differ in count"));
    }
    for (size_t k = 0; k < om.indices.size(); ++k) {
      if (om.indices[k] >= om.rows || (k > 0 && om.indices[k] <= om.indices[k - 1])) {
        return absl::InvalidArgumentError(
            absl::StrCat("merkle: matrices[", m, "]: indices[", k,
                         "] is out of range or not strictly increasing"));
      }
    }
    height = std::max(height, om.rows);
  }
  // The matrices of each level, in order; each must be opened at the level's known nodes.
  const int log_h = std::countr_zero(height);
  std::vector<std::vector<size_t>> by_level(size_t(log_h) + 1);
  for (size_t m = 0; m < matrices.size(); ++m) {
    by_level[size_t(std::countr_zero(matrices[m].rows))].push_back(m);
  }
  auto check_rows = [&](const std::vector<size_t>& ms, uint64_t level_size,
                        std::span<const std::pair<uint64_t, Digest>> known) -> absl::Status {
    for (size_t m : ms) {
      const OpenedMatrix& om = matrices[m];
      bool same = om.indices.size() == known.size();
      for (size_t k = 0; same && k < known.size(); ++k) {
        same = om.indices[k] == known[k].first - level_size;
      }
      if (!same) {
        return absl::InvalidArgumentError(absl::StrCat(
            "merkle: matrices[", m, "] is not opened at the rows the other openings reach"));
      }
    }
    return absl::OkStatus();
  };
  // Hashes messages of `prefix` bytes (filled by the caller into msg) followed by the
  // row digests of the matrices `ms` at known position k.
  std::vector<uint8_t> msg;
  std::vector<Digest> hashed;
  auto hash_level = [&](const std::vector<size_t>& ms, size_t prefix, size_t count) {
    const size_t len = prefix + 32 * ms.size();
    for (size_t k = 0; k < count; ++k) {
      for (size_t j = 0; j < ms.size(); ++j) {
        std::memcpy(msg.data() + k * len + prefix + 32 * j, matrices[ms[j]].row_digests[k].data(),
                    32);
      }
    }
    hashed.resize(count);
    Keccak256Batch(msg.data(), len, len, count, hashed.data());
  };

  // The bottom level: the tallest matrices' rows.
  const std::vector<size_t>& bottom = by_level[size_t(log_h)];
  const OpenedMatrix& first = matrices[bottom[0]];
  std::vector<std::pair<uint64_t, Digest>> level;
  for (size_t k = 0; k < first.indices.size(); ++k) {
    level.emplace_back(height + first.indices[k], first.row_digests[k]);
  }
  if (auto s = check_rows(bottom, height, level); !s.ok()) return s;
  if (bottom.size() > 1) {
    msg.assign(32 * bottom.size() * level.size(), 0);
    hash_level(bottom, 0, level.size());
    for (size_t k = 0; k < level.size(); ++k) level[k].second = hashed[k];
  }
  // WalkMultiOpening's order, one level at a time: the level's messages are gathered first
  // and hashed together in SIMD batches (Keccak256Batch), a verifier's main cost.
  size_t used = 0;
  std::vector<uint64_t> parents;
  std::vector<std::pair<uint64_t, Digest>> next;
  for (int log_level = log_h - 1; log_level >= 0; --log_level) {
    const std::vector<size_t>& ms = by_level[size_t(log_level)];
    const size_t len = 64 + 32 * ms.size();
    parents.clear();
    msg.resize(len * level.size());
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
      uint8_t* dst = msg.data() + len * parents.size();
      std::memcpy(dst, left->data(), 32);
      std::memcpy(dst + 32, right->data(), 32);
      parents.push_back(x / 2);
    }
    next.resize(parents.size());
    for (size_t k = 0; k < parents.size(); ++k) next[k].first = parents[k];
    if (auto s = check_rows(ms, uint64_t{1} << log_level, next); !s.ok()) return s;
    hash_level(ms, 64, parents.size());
    for (size_t k = 0; k < parents.size(); ++k) next[k].second = hashed[k];
    level.swap(next);
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

absl::Status VerifyMerkleProof(const Digest& root, size_t num_leaves,
                               std::span<const size_t> indices, std::span<const Digest> leaf_hashes,
                               const MerkleProof& proof) {
  if (!IsPowerOfTwo(num_leaves)) {
    return absl::InvalidArgumentError("merkle: the number of leaves is not a power of two");
  }
  if (indices.empty() || indices.size() != leaf_hashes.size()) {
    return absl::InvalidArgumentError("merkle: no leaves, or indices and leaves differ in count");
  }
  std::vector<uint64_t> idx(indices.begin(), indices.end());
  const OpenedMatrix m{num_leaves, idx, leaf_hashes};
  return VerifyMerkleMultiProof(root, std::span<const OpenedMatrix>(&m, 1), proof);
}

}  // namespace prover
