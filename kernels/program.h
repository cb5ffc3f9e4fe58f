// The constraint bytecode: a table's expression DAG compiled (engine/backend/cuda/
// program_compiler.h) into straight-line code over two register files, one of base-field
// and one of extension-field values, evaluated once per point by one GPU thread.
//
// Registers are reused once their value is dead, so a program needs few of them however
// large the DAG. Besides the expression nodes, a program writes three kinds of results
// into registers that are never reused:
//   * kAccum   acc[kind] += pool[coef] * value      (the quotient's constraint sums, by
//                                                    constraint kind, gamma powers in pool)
//   * kFinger  phi[k] = pool[coef] - sum_i pool[coef_i] * v_i   (LogUp fingerprints:
//              kFingerInit sets beta - bus, kFingerSub subtracts alpha^(i+1) v_i)
//   * kMult    m[k] = value                          (LogUp multiplicities)
// The interpreter is written once for host and device: the host tests run the same code.
#pragma once

#include <cstdint>

#include "engine/base/host_device.h"
#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"

namespace prover::kernels {

enum class Op : uint8_t {
  kLoadCol = 0,    // b[dst] = column a at row offset b (0 current, 1 next)
  kLoadConst = 1,  // b[dst] = base_pool[a]
  kLoadExt = 2,    // e[dst] = ext_pool[a]
  kAddB = 3,       // b[dst] = b[a] + b[b]
  kSubB = 4,
  kMulB = 5,
  kNegB = 6,  // b[dst] = -b[a]
  kAddE = 7,  // e[dst] = A + B, operands typed by the flags
  kSubE = 8,
  kMulE = 9,
  kNegE = 10,        // e[dst] = -e[a]
  kAccum = 11,       // e[dst] += ext_pool[a] * (flags & kExtA ? e[b] : b[b])
  kFingerInit = 12,  // e[dst] = ext_pool[a]
  kFingerSub = 13,   // e[dst] -= ext_pool[a] * B, B typed by the flags as in kAccum
  kMult = 14,        // b[dst] = b[a]
};

// Operand kinds for the extension ops: set when the operand is an extension register.
inline constexpr uint8_t kExtA = 1;
inline constexpr uint8_t kExtB = 2;

struct Instr {
  Op op;
  uint8_t flags;
  uint16_t reserved;
  uint32_t dst, a, b;
};
static_assert(sizeof(Instr) == 16);

// A compiled program as the kernels see it: every pointer is in the memory of whoever runs
// it (device memory for the CUDA kernels).
struct ProgramView {
  const Instr* code = nullptr;
  uint32_t num_instrs = 0;
  uint32_t num_base_regs = 0, num_ext_regs = 0;
  const Fp* base_pool = nullptr;
  const Fp3* ext_pool = nullptr;
};

// Register files of one point. A GPU thread's registers live in global scratch laid out
// register-major (register r of thread t at r * stride + t) so that a warp's accesses to one
// register are coalesced; on the host stride is 1 and the files are plain arrays.
struct RegisterFile {
  Fp* base = nullptr;
  Fp3* ext = nullptr;
  uint64_t stride = 1;
  PROVER_HOST_DEVICE Fp& b(uint32_t r) const { return base[r * stride]; }
  PROVER_HOST_DEVICE Fp3& e(uint32_t r) const { return ext[r * stride]; }
};

// Runs the program at one point. load(col, offset) returns the column's value at the
// point (offset 0) or at the next-row point (offset 1).
template <typename Load>
PROVER_HOST_DEVICE void RunProgram(const ProgramView& p, const RegisterFile& r, Load load) {
  for (uint32_t pc = 0; pc < p.num_instrs; ++pc) {
    const Instr in = p.code[pc];
    switch (in.op) {
      case Op::kLoadCol:
        r.b(in.dst) = load(in.a, in.b);
        break;
      case Op::kLoadConst:
        r.b(in.dst) = p.base_pool[in.a];
        break;
      case Op::kLoadExt:
      case Op::kFingerInit:
        r.e(in.dst) = p.ext_pool[in.a];
        break;
      case Op::kAddB:
        r.b(in.dst) = r.b(in.a) + r.b(in.b);
        break;
      case Op::kSubB:
        r.b(in.dst) = r.b(in.a) - r.b(in.b);
        break;
      case Op::kMulB:
        r.b(in.dst) = r.b(in.a) * r.b(in.b);
        break;
      case Op::kNegB:
        r.b(in.dst) = -r.b(in.a);
        break;
      case Op::kMult:
        r.b(in.dst) = r.b(in.a);
        break;
      case Op::kAddE:
      case Op::kSubE:
      case Op::kMulE: {
        const bool ea = in.flags & kExtA, eb = in.flags & kExtB;
        if (in.op == Op::kMulE && !ea) {
          r.e(in.dst) = r.e(in.b) * r.b(in.a);
        } else if (in.op == Op::kMulE && !eb) {
          r.e(in.dst) = r.e(in.a) * r.b(in.b);
        } else {
          const Fp3 x = ea ? r.e(in.a) : Fp3(r.b(in.a));
          const Fp3 y = eb ? r.e(in.b) : Fp3(r.b(in.b));
          r.e(in.dst) = in.op == Op::kAddE ? x + y : in.op == Op::kSubE ? x - y : x * y;
        }
        break;
      }
      case Op::kNegE:
        r.e(in.dst) = -r.e(in.a);
        break;
      case Op::kAccum:
        r.e(in.dst) +=
            (in.flags & kExtA) ? p.ext_pool[in.a] * r.e(in.b) : p.ext_pool[in.a] * r.b(in.b);
        break;
      case Op::kFingerSub:
        r.e(in.dst) -=
            (in.flags & kExtA) ? p.ext_pool[in.a] * r.e(in.b) : p.ext_pool[in.a] * r.b(in.b);
        break;
    }
  }
}

}  // namespace prover::kernels
