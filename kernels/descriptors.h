// The plain descriptors a Device call hands to the kernels (engine/backend/cuda/device.h
// documents each). No host-library types: nvcc compiles this header too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/field/extension.h"
#include "engine/field/goldilocks.h"
#include "kernels/bodies.h"
#include "kernels/program.h"

namespace prover::kernels {

// The twiddles of one LDE domain (the device-side domain cache's entry, keyed by (log n,
// log blowup, coset offset)): w_N^j and w_N^-j for j < N/2 and shift^k for k < n.
struct DeviceDomain {
  int log_n = 0, log_N = 0;
  Fp shift;
  const Fp* fwd = nullptr;
  const Fp* inv = nullptr;
  const Fp* shift_pows = nullptr;
};

// A compiled constraint program with its per-table LogUp data, in device memory.
struct TableProgram {
  ProgramView program;
  LogUpView logup;
  uint32_t acc_reg[4] = {0, 0, 0, 0};
  uint32_t logup_gamma = 0, logup_mean = 0;  // ext pool: G gamma powers; sigma / n
};

// Round 2 for one table: helper columns and running sum from the trace rows.
struct AuxTable {
  TableProgram prog;
  const uint64_t* trace = nullptr;  // C columns of n
  int log_n = 0;
  uint64_t* aux = nullptr;  // 3 G columns of n: G - 1 helpers, then the running sum
  uint64_t* sum = nullptr;  // 3 words: the table's LogUp sum sigma
};

// Round 3 for one table: quotient values on the first E positions of the LDE.
struct QuotientTable {
  TableProgram prog;
  const uint64_t* main = nullptr;  // C columns of N
  const uint64_t* aux = nullptr;   // 3 G columns of N, or null
  int log_n = 0, log_N = 0, log_e = 0;
  const Fp* tw = nullptr;  // the table's LDE domain: w_N^j, j < N/2
  Fp shift;
  Fp zinv[8];               // 1 / (x^n - 1) on each of the E / n cosets (constant on a coset)
  uint64_t* out = nullptr;  // 3 columns of E
};

// One matrix of a Merkle tree (engine/hash/merkle.h): `rows` rows of `width` values,
// column-major (column c at data + c * rows) or row-major (row r at data + r * width); its
// row digests go to `digests`, 4 lanes each.
struct TreeMatrix {
  const uint64_t* data = nullptr;
  uint32_t width = 0;
  uint64_t rows = 0;
  bool row_major = false;
  uint64_t* digests = nullptr;
};

// What one level of a tree takes in besides its children: the row digests of the matrices
// [first, first + count) of its launch (those with as many rows as the level has nodes).
struct TreeLevel {
  uint32_t first = 0;
  uint32_t count = 0;
};

// One polynomial to evaluate: coefficients (natural order) at an extension point.
struct PolyEval {
  const uint64_t* coeffs = nullptr;
  uint64_t len = 0;
  Fp3 point;
};

// LogUp running sums, in place, over segments x of length n (docs/PROTOCOL.md section 5):
// x[i] := sum_{j < i} x[j] - i * total / n, and *total := sum_j x[j] (Goldilocks).
struct ScanChunk {
  uint64_t* data;
  uint64_t count;        // values in this chunk (<= kScanChunk)
  uint64_t first_index;  // the index of data[0] in its segment
  uint32_t segment;
};
struct ScanSegment {
  uint32_t first_chunk, num_chunks;
  uint64_t inv_len;  // 1 / n, canonical
  uint64_t* total;   // one word of device memory
};
// DEEP: the tables [first, first + count) of a DeepTable array whose codewords go to one
// target (a FRI layer of 2^log_N values, or a later layer's entering codewords).
struct DeepTarget {
  uint32_t first, count;
  int log_N;
  uint64_t* target;
};

struct FoldArgs {
  const uint64_t* in = nullptr;      // groups * 2^log_a interleaved extension values
  uint64_t* out = nullptr;           // groups values
  const uint64_t* inject = nullptr;  // groups values to add, or null
  uint64_t groups = 0;
  int log_a = 0;
  Fp3 zetas[4];
  Fp s_invs[4];
  const Fp* twiddles = nullptr;
  Fp scale;
};

// The layouts a descriptor has on the host, which copies it byte for byte to the device,
// and in nvcc's device code: both compilers compile these, so a difference fails the build
// of one of them (values as g++ 12 lays them out for x86-64).
static_assert(sizeof(DeviceDomain) == 40 && alignof(DeviceDomain) == 8);
static_assert(offsetof(DeviceDomain, shift_pows) == 32);
static_assert(sizeof(TableProgram) == 112 && alignof(TableProgram) == 8);
static_assert(offsetof(TableProgram, logup_mean) == 108);
static_assert(sizeof(AuxTable) == 144 && alignof(AuxTable) == 8);
static_assert(offsetof(AuxTable, sum) == 136);
static_assert(sizeof(QuotientTable) == 232 && alignof(QuotientTable) == 8);
static_assert(offsetof(QuotientTable, zinv) == 160 && offsetof(QuotientTable, out) == 224);
static_assert(sizeof(TreeMatrix) == 40 && alignof(TreeMatrix) == 8);
static_assert(offsetof(TreeMatrix, digests) == 32);
static_assert(sizeof(TreeLevel) == 8 && alignof(TreeLevel) == 4);
static_assert(sizeof(PolyEval) == 40 && alignof(PolyEval) == 8);
static_assert(offsetof(PolyEval, point) == 16);
static_assert(sizeof(DeepTarget) == 24 && alignof(DeepTarget) == 8);
static_assert(offsetof(DeepTarget, target) == 16);
static_assert(sizeof(FoldArgs) == 184 && alignof(FoldArgs) == 8);
static_assert(offsetof(FoldArgs, s_invs) == 136 && offsetof(FoldArgs, scale) == 176);
static_assert(sizeof(NttPass) == 20 && alignof(NttPass) == 4);
static_assert(sizeof(LogUpView) == 48 && alignof(LogUpView) == 8);
static_assert(offsetof(LogUpView, tmp_reg) == 40);
static_assert(sizeof(DeepTable) == 280 && alignof(DeepTable) == 8);
static_assert(offsetof(DeepTable, inv_zw) == 200 && offsetof(DeepTable, target) == 272);
static_assert(sizeof(ScanChunk) == 32 && offsetof(ScanChunk, segment) == 24);
static_assert(sizeof(ScanSegment) == 24 && offsetof(ScanSegment, total) == 16);
static_assert(sizeof(Instr) == 16 && alignof(Instr) == 4);
static_assert(sizeof(ProgramView) == 40 && alignof(ProgramView) == 8);
static_assert(offsetof(ProgramView, ext_pool) == 32);

}  // namespace prover::kernels
