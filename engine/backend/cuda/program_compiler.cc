#include "engine/backend/cuda/program_compiler.h"

#include <algorithm>

#include "engine/protocol/formulas.h"

namespace prover::backend::cuda {

using air::ExprOp;
using kernels::Instr;
using kernels::Op;

uint32_t CompiledProgram::AddExtPool(std::span<const Fp3> values) {
  const uint32_t first = static_cast<uint32_t>(ext_pool.size());
  ext_pool.insert(ext_pool.end(), values.begin(), values.end());
  return first;
}

namespace {

// Registers of one kind: a free list over a growing file.
class RegisterAllocator {
 public:
  uint32_t Take() {
    if (!free_.empty()) {
      const uint32_t r = free_.back();
      free_.pop_back();
      return r;
    }
    return count_++;
  }
  void Release(uint32_t r) { free_.push_back(r); }
  uint32_t count() const { return count_; }

 private:
  std::vector<uint32_t> free_;
  uint32_t count_ = 0;
};

struct Sink {
  Op op;
  uint32_t dst, pool;
};

Instr Make(Op op, uint8_t flags, uint32_t dst, uint32_t a, uint32_t b) {
  return Instr{op, flags, 0, dst, a, b};
}

}  // namespace

CompiledProgram CompileTableProgram(const air::Table& table, const ProgramRequest& req) {
  CompiledProgram out;
  const size_t n = table.exprs.size();
  RegisterAllocator base, ext;

  // Results that live to the end of the program.
  const uint32_t zero = out.AddExtPool(std::vector<Fp3>{Fp3::Zero()});
  if (req.constraints) {
    for (int k = 0; k < 4; ++k) {
      out.acc_reg[k] = ext.Take();
      out.code.push_back(Make(Op::kLoadExt, 0, out.acc_reg[k], zero, 0));
    }
  }
  const size_t K = req.fingerprints ? table.interactions.size() : 0;
  // The fingerprints (protocol/formulas.h): kFingerInit loads the constant term, each value
  // then subtracts its alpha power times itself (kFingerSub).
  const std::vector<Fp3> alpha_pows =
      K != 0 ? stark::FingerprintAlphaPowers(table, req.alpha) : std::vector<Fp3>{};
  const uint32_t alpha_base = out.AddExtPool(alpha_pows);
  for (size_t k = 0; k < K; ++k) {
    out.phi_reg.push_back(ext.Take());
    out.tmp_reg.push_back(ext.Take());
    out.mult_reg.push_back(base.Take());
    const uint32_t init = out.AddExtPool(
        std::vector<Fp3>{stark::FingerprintStart(req.beta, table.interactions[k].bus)});
    out.code.push_back(Make(Op::kFingerInit, 0, out.phi_reg[k], init, 0));
  }

  // What each node feeds besides other nodes.
  std::vector<std::vector<Sink>> sinks(n);
  std::vector<bool> needed(n, false);
  if (req.constraints) {
    const uint32_t gamma_base = out.AddExtPool(req.gamma_pows);
    for (size_t k = 0; k < table.constraints.size(); ++k) {
      const air::Constraint& c = table.constraints[k];
      needed[c.expr] = true;
      sinks[c.expr].push_back(
          {Op::kAccum,
           air::ForKind(c.kind, out.acc_reg[0], out.acc_reg[1], out.acc_reg[2], out.acc_reg[3]),
           gamma_base + uint32_t(k)});
    }
  }
  for (size_t k = 0; k < K; ++k) {
    const air::Interaction& in = table.interactions[k];
    for (size_t i = 0; i < in.values.size(); ++i) {
      needed[in.values[i]] = true;
      sinks[in.values[i]].push_back({Op::kFingerSub, out.phi_reg[k], alpha_base + uint32_t(i + 1)});
    }
    needed[in.multiplicity] = true;
    sinks[in.multiplicity].push_back({Op::kMult, out.mult_reg[k], 0});
  }
  {
    std::vector<uint32_t> roots;
    for (size_t i = 0; i < n; ++i) {
      if (needed[i]) roots.push_back(uint32_t(i));
    }
    needed = air::NodesNeeded(table, roots);
  }
  const std::vector<bool> is_ext = air::NodeIsExtension(table);
  // The last node that reads each node's value: its register is free after that.
  std::vector<int64_t> last_use(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (!needed[i]) continue;
    const air::Expr& e = table.exprs[i];
    if (e.op == ExprOp::kAdd || e.op == ExprOp::kSub || e.op == ExprOp::kMul) {
      last_use[e.lhs] = last_use[e.rhs] = int64_t(i);
    } else if (e.op == ExprOp::kNeg) {
      last_use[e.lhs] = int64_t(i);
    }
  }

  std::vector<uint32_t> reg(n, 0);
  auto release = [&](uint32_t node) { (is_ext[node] ? ext : base).Release(reg[node]); };
  for (size_t i = 0; i < n; ++i) {
    if (!needed[i]) continue;
    const air::Expr& e = table.exprs[i];
    const bool binary = e.op == ExprOp::kAdd || e.op == ExprOp::kSub || e.op == ExprOp::kMul;
    // Operands that die here give their registers back first: the interpreter reads its
    // operands before it writes the destination.
    if (binary || e.op == ExprOp::kNeg) {
      if (last_use[e.lhs] == int64_t(i)) release(e.lhs);
      if (binary && e.rhs != e.lhs && last_use[e.rhs] == int64_t(i)) release(e.rhs);
    }
    const uint32_t dst = reg[i] = (is_ext[i] ? ext : base).Take();
    switch (e.op) {
      case ExprOp::kConstant:
        out.code.push_back(Make(Op::kLoadConst, 0, dst, uint32_t(out.base_pool.size()), 0));
        out.base_pool.push_back(Fp::FromCanonical(e.value));
        break;
      case ExprOp::kPublicInput:
        out.code.push_back(Make(Op::kLoadConst, 0, dst, uint32_t(out.base_pool.size()), 0));
        out.base_pool.push_back(req.public_inputs[e.value]);
        break;
      case ExprOp::kChallenge:
        out.code.push_back(Make(Op::kLoadExt, 0, dst,
                                out.AddExtPool(std::vector<Fp3>{req.challenges[e.value]}), 0));
        break;
      case ExprOp::kColumn:
        out.code.push_back(Make(Op::kLoadCol, 0, dst, uint32_t(e.value), e.row_offset));
        break;
      case ExprOp::kAdd:
      case ExprOp::kSub:
      case ExprOp::kMul: {
        if (!is_ext[i]) {
          const Op op = e.op == ExprOp::kAdd   ? Op::kAddB
                        : e.op == ExprOp::kSub ? Op::kSubB
                                               : Op::kMulB;
          out.code.push_back(Make(op, 0, dst, reg[e.lhs], reg[e.rhs]));
        } else {
          const Op op = e.op == ExprOp::kAdd   ? Op::kAddE
                        : e.op == ExprOp::kSub ? Op::kSubE
                                               : Op::kMulE;
          const uint8_t flags =
              uint8_t((is_ext[e.lhs] ? kernels::kExtA : 0) | (is_ext[e.rhs] ? kernels::kExtB : 0));
          out.code.push_back(Make(op, flags, dst, reg[e.lhs], reg[e.rhs]));
        }
        break;
      }
      case ExprOp::kNeg:
        out.code.push_back(Make(is_ext[i] ? Op::kNegE : Op::kNegB, 0, dst, reg[e.lhs], 0));
        break;
    }
    for (const Sink& s : sinks[i]) {
      const uint8_t flags = is_ext[i] ? kernels::kExtA : 0;
      if (s.op == Op::kMult) {
        out.code.push_back(Make(Op::kMult, 0, s.dst, dst, 0));
      } else {
        out.code.push_back(Make(s.op, flags, s.dst, s.pool, dst));
      }
    }
    if (last_use[i] < 0) release(uint32_t(i));
  }
  out.num_base_regs = std::max<uint32_t>(1, base.count());
  out.num_ext_regs = std::max<uint32_t>(1, ext.count());
  return out;
}

}  // namespace prover::backend::cuda
