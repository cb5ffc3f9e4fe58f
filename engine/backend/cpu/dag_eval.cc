#include "engine/backend/cpu/dag_eval.h"

namespace prover::backend::cpu {

using air::ExprOp;

DagEvaluator::DagEvaluator(const air::Table& table, std::span<const uint32_t> roots,
                           std::span<const Fp> public_inputs, std::span<const Fp3> challenges)
    : table_(table), kernels_(RowKernelsFor(ActiveSimdLevel()).array) {
  const size_t n = table.exprs.size();
  const std::vector<bool> needed = air::NodesNeeded(table, roots);
  ext_ = air::NodeIsExtension(table);
  base_ptr_.assign(n, nullptr);
  ext_ptr_.assign(n, nullptr);
  slot_.assign(n, 0);
  size_t base_slots = 0, ext_slots = 0;
  for (size_t i = 0; i < n; ++i) {
    const air::Expr& e = table.exprs[i];
    if (!needed[i]) continue;
    if (e.op == ExprOp::kColumn) {
      columns_.push_back(static_cast<uint32_t>(i));
      continue;
    }
    if (e.op != ExprOp::kConstant && e.op != ExprOp::kPublicInput && e.op != ExprOp::kChallenge) {
      order_.push_back(static_cast<uint32_t>(i));
    }
    slot_[i] = ext_[i] ? ext_slots++ : base_slots++;
  }
  base_store_ = AlignedBuffer<Fp>(base_slots * kDagChunk);
  ext_store_ = AlignedBuffer<Fp3>(ext_slots * kDagChunk);
  for (size_t i = 0; i < n; ++i) {
    if (!needed[i] || table.exprs[i].op == ExprOp::kColumn) continue;
    if (ext_[i]) {
      ext_ptr_[i] = ext_store_.data() + slot_[i] * kDagChunk;
    } else {
      base_ptr_[i] = base_store_.data() + slot_[i] * kDagChunk;
    }
    // Leaves other than columns are the same at every point: fill them once.
    const air::Expr& e = table.exprs[i];
    if (e.op == ExprOp::kChallenge) {
      Fp3* out = ext_store_.data() + slot_[i] * kDagChunk;
      for (size_t j = 0; j < kDagChunk; ++j) out[j] = challenges[e.value];
    } else if (e.op == ExprOp::kConstant || e.op == ExprOp::kPublicInput) {
      Fp* out = base_store_.data() + slot_[i] * kDagChunk;
      const Fp v = e.op == ExprOp::kConstant ? Fp::FromCanonical(e.value) : public_inputs[e.value];
      for (size_t j = 0; j < kDagChunk; ++j) out[j] = v;
    }
  }
}

void DagEvaluator::Evaluate(std::span<const Fp* const> current, std::span<const Fp* const> next,
                            size_t count) {
  for (uint32_t i : columns_) {
    const air::Expr& e = table_.exprs[i];
    base_ptr_[i] = e.row_offset == 0 ? current[e.value] : next[e.value];
  }
  for (uint32_t i : order_) {
    const air::Expr& e = table_.exprs[i];
    if (!ext_[i]) {
      Fp* out = base_store_.data() + slot_[i] * kDagChunk;
      const Fp* a = base_ptr_[e.lhs];
      const Fp* b = base_ptr_[e.rhs];
      switch (e.op) {
        case ExprOp::kAdd:
          kernels_.add(a, b, out, count);
          break;
        case ExprOp::kSub:
          kernels_.sub(a, b, out, count);
          break;
        case ExprOp::kMul:
          kernels_.mul(a, b, out, count);
          break;
        case ExprOp::kNeg:
          kernels_.neg(a, out, count);
          break;
        default:
          break;
      }
      continue;
    }
    Fp3* out = ext_store_.data() + slot_[i] * kDagChunk;
    const bool ea = ext_[e.lhs];
    const bool eb = e.op != ExprOp::kNeg && ext_[e.rhs];
    auto lhs = [&](size_t j) { return ea ? ext_ptr_[e.lhs][j] : Fp3(base_ptr_[e.lhs][j]); };
    auto rhs = [&](size_t j) { return eb ? ext_ptr_[e.rhs][j] : Fp3(base_ptr_[e.rhs][j]); };
    switch (e.op) {
      case ExprOp::kAdd:
        for (size_t j = 0; j < count; ++j) out[j] = lhs(j) + rhs(j);
        break;
      case ExprOp::kSub:
        for (size_t j = 0; j < count; ++j) out[j] = lhs(j) - rhs(j);
        break;
      case ExprOp::kMul:
        if (!ea) {
          for (size_t j = 0; j < count; ++j) out[j] = ext_ptr_[e.rhs][j] * base_ptr_[e.lhs][j];
        } else if (!eb) {
          for (size_t j = 0; j < count; ++j) out[j] = ext_ptr_[e.lhs][j] * base_ptr_[e.rhs][j];
        } else {
          for (size_t j = 0; j < count; ++j) out[j] = ext_ptr_[e.lhs][j] * ext_ptr_[e.rhs][j];
        }
        break;
      case ExprOp::kNeg:
        for (size_t j = 0; j < count; ++j) out[j] = -lhs(j);
        break;
      default:
        break;
    }
  }
}

}  // namespace prover::backend::cpu
