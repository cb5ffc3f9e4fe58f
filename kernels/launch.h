// Launchers of the CUDA engine's kernels (kernels/prover_kernels.cu). Each enqueues its
// kernels on the given stream and returns the launch error; none allocates or
// synchronises. Descriptor arrays and scratch are device memory owned by the caller
// (engine/backend/cuda/cuda_device.cc), which also sizes the scratch with the *Words
// helpers. `launches` (when not null) is increased by the number of kernels enqueued.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/descriptors.h"
#include "kernels/geometry.h"

namespace prover::kernels {

// Fills the blocks per SM of g (geometry.h) from the occupancy the compiled program
// kernels achieve on the current device, at most kMaxProgramBlocksPerSm.
cudaError_t ProgramOccupancy(GridLimits* g);

// out[j] = base^j * first for j < count.
cudaError_t LaunchPowers(uint64_t* out, Fp base, uint64_t count, cudaStream_t stream,
                         uint64_t* launches);

cudaError_t LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw, int log_tw,
                      cudaStream_t stream, uint64_t* launches);
cudaError_t LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                             cudaStream_t stream, uint64_t* launches);
cudaError_t LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                         uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows,
                         cudaStream_t stream, uint64_t* launches);

// One Merkle tree over matrices of mixed heights (engine/hash/merkle.h), into nodes (2H
// digests, heap order, H = 2^log_leaves): every row of every matrix into its row digests
// (row_prefix: num_matrices + 1 running row counts), then each level from the bottom up
// (levels: a host array of log_leaves + 1 entries, indexed by log2 of the level's nodes;
// the matrices ordered by height, tallest first). The bottom level is launched only when
// several matrices share it: a sole one's digests are the bottom level itself.
cudaError_t LaunchMerkle(const TreeMatrix* matrices, uint32_t num_matrices,
                         const uint64_t* row_prefix, uint64_t total_rows, const TreeLevel* levels,
                         int log_leaves, uint64_t* nodes, cudaStream_t stream, uint64_t* launches);

// Round 2 rows: helpers and row sums (into the running-sum columns) for every row of every
// table; the lowest (table << 40 | row) whose fingerprint vanishes goes to *bad
// (initialised to ~0 by the caller).
cudaError_t LaunchAuxRows(const AuxTable* tables, uint32_t num_tables, const uint64_t* row_prefix,
                          uint64_t total_rows, uint64_t* scratch, uint32_t base_regs,
                          uint32_t ext_regs, unsigned long long* bad, const GridLimits& g,
                          cudaStream_t stream, uint64_t* launches);

// LogUp running sums, in place (ScanChunk, ScanSegment: descriptors.h).
cudaError_t LaunchSegmentedScan(const ScanChunk* chunks, uint32_t num_chunks,
                                const ScanSegment* segments, uint32_t num_segments,
                                uint64_t* chunk_sums, cudaStream_t stream, uint64_t* launches);

// Round 3: the quotient values of every table; group_prefix counts the threads of each
// table (PointThreads, geometry.h).
cudaError_t LaunchQuotients(const QuotientTable* tables, uint32_t num_tables,
                            const uint64_t* group_prefix, uint64_t total_groups, uint64_t* scratch,
                            uint32_t base_regs, uint32_t ext_regs, const GridLimits& g,
                            cudaStream_t stream, uint64_t* launches);

cudaError_t LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                          uint64_t end, unsigned long long* flag, cudaStream_t stream,
                          uint64_t* launches);

// Evaluations: partial sums per chunk of kEvalChunk coefficients, then one block per
// polynomial. chunk_prefix: num_polys + 1 running chunk counts (kEvalChunk: geometry.h).
// out: 3 words per poly.
cudaError_t LaunchEvalPolys(const PolyEval* polys, uint32_t num_polys, const uint64_t* chunk_prefix,
                            uint64_t total_chunks, uint64_t* partials, uint64_t* out,
                            cudaStream_t stream, uint64_t* launches);

// DEEP: tables grouped by target (DeepTarget, descriptors.h).
cudaError_t LaunchDeep(const DeepTable* tables, const DeepTarget* targets, uint32_t num_targets,
                       const uint64_t* group_prefix, uint64_t total_groups, Fp lde_shift,
                       cudaStream_t stream, uint64_t* launches);

cudaError_t LaunchFoldTwiddles(uint64_t* out, int log_m, cudaStream_t stream, uint64_t* launches);
cudaError_t LaunchFold(const FoldArgs& args, cudaStream_t stream, uint64_t* launches);
cudaError_t LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out,
                         cudaStream_t stream, uint64_t* launches);

}  // namespace prover::kernels
