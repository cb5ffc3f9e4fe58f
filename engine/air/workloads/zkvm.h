// The `zkvm` workload: the shape of a real zkVM proof. A small register machine (eight
// 32-bit registers held as 16-bit limbs, fourteen opcodes) runs an iterative Fibonacci
// program followed by a fixed-length mixing routine; one wide CPU table records one
// instruction per row, and the work it delegates (instruction fetch, memory, arithmetic,
// bitwise operations, multiplication, shifts, comparisons, output, range checks) lives in
// separate tables joined by LogUp buses with multiplicities.
//
// Tables (heights for scale k; small tables do not depend on k):
//   cpu       2^k     75 columns, degree-3 constraints: decode, operand selection, register
//                     update, branch, the program counter
//   program   2^(k-3) the program ROM (the Fibonacci loop unrolled to fill it), with a
//                     fingerprint bound to the public input `program_hash`
//   memory    2^(k-1) every load and store sorted by (address, clock); reads see the last
//                     write
//   alu       2^(k-1) 32-bit add and subtract with carries
//   bitwise   2^(k-2) xor / and / or, word by word, split into nibbles
//   range16   2^16    fixed: the values 0 .. 2^16 - 1 with lookup counts
//   xor4, and4, or4   2^8 fixed: nibble operation tables with lookup counts
//   u8        2^8     fixed: byte range;  u14  2^14  fixed: 14-bit range
//   pow2      2^8     fixed: (i, 2^i)
//   mul 2^11, shift 2^10, lt 2^9: chips for MUL, SHLI (via pow2 and mul) and SLTU
//   io        2^8     the program's outputs, fingerprinted into `output_digest`
//
// Buses (see ZkvmBus): every lookup sends a tuple with a positive multiplicity and the
// owning table receives it with the negated count, so each bus balances exactly. Padding
// rows (the CPU's repeated HALT after the program ends, unused rows of the other tables)
// satisfy every constraint and have multiplicity zero on every bus.
//
// Public inputs, in order: a0, a1 (the initial pair, 32-bit; r1 and r2 at the start),
// iterations (of the unrolled loop; r3 at the start), result (the last Fibonacci term
// x[n + 1] mod 2^32 of x[0] = a0, x[1] = a1, x[i + 2] = x[i] + x[i + 1], for the n steps
// the loop runs; r2 at the end), cycles (instructions executed before HALT), program_hash
// (fingerprint of the program ROM), output_digest (fingerprint of the outputs).
//
// Every constraint has degree <= 3, first- and last-row constraints degree <= 2, and every
// bus tuple value and multiplicity degree <= 2, as the prover requires.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/air/air.h"
#include "engine/air/workload.h"

namespace prover::air {

inline constexpr int kZkvmMinScale = 10;
inline constexpr int kZkvmMaxScale = 24;

// Table indices in ZkvmAir().tables and in the trace.
enum ZkvmTable : uint32_t {
  kZkvmCpu = 0,
  kZkvmProgram,
  kZkvmMemory,
  kZkvmAlu,
  kZkvmBitwise,
  kZkvmRange16,
  kZkvmXor4,
  kZkvmAnd4,
  kZkvmOr4,
  kZkvmU8,
  kZkvmU14,
  kZkvmPow2,
  kZkvmMul,
  kZkvmShift,
  kZkvmLt,
  kZkvmIo,
  kZkvmNumTables,
};

// Bus identifiers and the tuples they carry.
enum ZkvmBus : uint32_t {
  kZkvmProgramBus = 0,  // (pc, opcode, rd, rs1, rs2, imm_lo, imm_hi): cpu -> program
  kZkvmAluBus = 1,      // (op, a, b, c): cpu, shift -> alu, bitwise, mul, shift, lt
  kZkvmMemoryBus = 2,   // (addr, clk, value, is_write): cpu -> memory
  kZkvmRange16Bus = 3,  // (v), v < 2^16: cpu, memory, alu, mul, lt -> range16
  kZkvmU14Bus = 4,      // (v), v < 2^14: cpu, memory -> u14
  kZkvmU8Bus = 5,       // (v), v < 2^8: mul -> u8
  kZkvmNibbleBus = 6,   // (op, a, b, a op b) on nibbles: bitwise -> xor4, and4, or4
  kZkvmPow2Bus = 7,     // (i, 2^i): shift -> pow2
  kZkvmIoBus = 8,       // (index, value): cpu -> io
};

// The AIR; it does not depend on the scale or the seed (heights come with the trace).
Air ZkvmAir();

// The trace and public inputs for scale k in [kZkvmMinScale, kZkvmMaxScale]: the CPU table
// has 2^k rows. The seed picks the initial Fibonacci pair. The same (scale, seed) always
// gives the same trace, bit for bit. INVALID_ARGUMENT outside the range.
absl::StatusOr<WorkloadInstance> Zkvm(int scale, uint64_t seed = 0);

// The log2 heights of the tables Zkvm(scale, seed) builds, in table order, without
// building them (for admission control). INVALID_ARGUMENT outside the range.
absl::StatusOr<std::vector<int>> ZkvmLogRows(int scale);

}  // namespace prover::air
