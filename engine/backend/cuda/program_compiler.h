// Compiles a table's expression DAG into the constraint bytecode of kernels/program.h.
//
// Only the nodes the requested results depend on are compiled, in arena order (operands
// come first). A node is an extension value when it is a challenge or has an extension
// operand, exactly as in the CPU evaluator; the results are the same field elements either
// way. Registers are allocated by liveness: a node's register is free again after its last
// reader, so the register count is the DAG's width, not its size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/air/air.h"
#include "engine/field/extension.h"
#include "engine/protocol/logup.h"
#include "kernels/program.h"

namespace prover::backend::cuda {

struct ProgramRequest {
  // Constraint sums: constraint k accumulates gamma_pows[k] * value into acc[kind].
  std::span<const Fp3> gamma_pows;  // empty: no constraint sums
  bool constraints = false;
  // LogUp fingerprints and multiplicities of every interaction (needs alpha and beta).
  bool fingerprints = false;
  Fp3 alpha, beta;
  std::span<const Fp> public_inputs;
  std::span<const Fp3> challenges;  // air::kNumChallenges values, or empty
};

struct CompiledProgram {
  std::vector<kernels::Instr> code;
  uint32_t num_base_regs = 0, num_ext_regs = 0;
  std::vector<Fp> base_pool;
  std::vector<Fp3> ext_pool;
  // With constraints: the sums of every row, transition, first row and last row constraints,
  // in the order QuotientValue (kernels/bodies.h) reads them.
  uint32_t acc_reg[4] = {0, 0, 0, 0};
  std::vector<uint32_t> phi_reg, mult_reg, tmp_reg;  // with fingerprints, per interaction
  // Appends values to the ext pool and returns the index of the first.
  uint32_t AddExtPool(std::span<const Fp3> values);
};

CompiledProgram CompileTableProgram(const air::Table& table, const ProgramRequest& request);

}  // namespace prover::backend::cuda
