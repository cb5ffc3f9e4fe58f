// Chunked evaluation of a table's expression DAG on the CPU: one node at a time over a
// chunk of up to kDagChunk points, so the interpreter's dispatch is paid once per node
// and chunk rather than once per node and point, and base nodes run on the packed array
// kernels of row_kernels.h.
//
// A node is "extension" when it is a challenge or has an extension operand; every other
// node is evaluated over the base field. Only the nodes the given roots depend on are
// evaluated. Column nodes are not copied: they point into the caller's arrays.
//
// Not thread-safe: one evaluator per thread (construction is cheap next to a table).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/air/air.h"
#include "engine/backend/cpu/row_kernels.h"
#include "engine/base/aligned_buffer.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover::backend::cpu {

inline constexpr size_t kDagChunk = 128;

class DagEvaluator {
 public:
  // `roots`: the nodes whose values are wanted. `challenges` has air::kNumChallenges
  // values, or is empty when the table uses none.
  DagEvaluator(const air::Table& table, std::span<const uint32_t> roots,
               std::span<const Fp> public_inputs, std::span<const Fp3> challenges);

  // Evaluates the chunk: current[c] and next[c] point to `count` values of column c at the
  // chunk's points and at the next-row points (next may be empty when no root reads the
  // next row). count <= kDagChunk.
  void Evaluate(std::span<const Fp* const> current, std::span<const Fp* const> next, size_t count);

  bool is_ext(uint32_t node) const { return ext_[node]; }
  // Valid after Evaluate for needed nodes: count values.
  const Fp* base(uint32_t node) const { return base_ptr_[node]; }
  const Fp3* ext(uint32_t node) const { return ext_ptr_[node]; }

 private:
  const air::Table& table_;
  const ArrayKernels& kernels_;    // base nodes: packed arithmetic of the active SIMD path
  std::vector<uint32_t> order_;    // needed non-leaf nodes, increasing
  std::vector<uint32_t> columns_;  // needed column nodes
  std::vector<bool> ext_;
  std::vector<const Fp*> base_ptr_;
  std::vector<const Fp3*> ext_ptr_;
  AlignedBuffer<Fp> base_store_;
  AlignedBuffer<Fp3> ext_store_;
  std::vector<size_t> slot_;  // index into the store of the node's kind
};

}  // namespace prover::backend::cpu
