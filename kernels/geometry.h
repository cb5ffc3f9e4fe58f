// The launch geometry of the CUDA engine's kernels as plain functions: block sizes, grid
// sizes and how a launch over many columns is split within the grid's limits. The
// launchers (kernels/prover_kernels.cu) take every grid and block from here, each kernel's
// __launch_bounds__ is the block size named here, and host tests (geometry_test.cc, in
// every build) check them at the largest shapes valid input reaches.
#pragma once

#include <cstdint>

#include "engine/base/host_device.h"
#include "kernels/bodies.h"

namespace prover::kernels {

// CUDA's limits on sm_90 (and every GPU since sm_30).
inline constexpr uint64_t kMaxGridX = 2147483647u;  // 2^31 - 1
inline constexpr uint32_t kMaxGridY = 65535;
inline constexpr uint32_t kMaxBlockThreads = 1024;
inline constexpr uint32_t kMaxStaticSharedBytes = 48 * 1024;

// Block sizes, one per kind of kernel.
inline constexpr uint32_t kBlock = 256;            // grid-stride loops over values
inline constexpr uint32_t kHashBlock = 128;        // Keccak: a 25-lane state per thread
inline constexpr uint32_t kProgramBlock = 128;     // constraint programs (aux rows, quotient)
inline constexpr uint32_t kPointsBlock = 128;      // DEEP and polynomial chunks
inline constexpr uint32_t kScanOffsetsBlock = 64;  // one thread per LogUp segment
inline constexpr uint32_t kNttBlock = kBlock;      // at most; smaller tiles take fewer

// What the grids of a GPU are sized by: its SMs, and how many blocks of each constraint
// program kernel are resident on one SM at once (ProgramOccupancy in launch.h: the
// occupancy API at start-up, at most kMaxProgramBlocksPerSm).
inline constexpr int kMaxProgramBlocksPerSm = 8;
struct GridLimits {
  int sm_count = 132;
  int aux_blocks_per_sm = kMaxProgramBlocksPerSm;
  int quotient_blocks_per_sm = kMaxProgramBlocksPerSm;
};

// The constraint program kernels. Each launches exactly the threads that are resident at
// once (a grid-stride loop), and their register scratch is sized for those.
enum class ProgramKernel { kAuxRows, kQuotients };
PROVER_HOST_DEVICE uint64_t ProgramThreads(const GridLimits& g, ProgramKernel kernel) {
  const int per_sm =
      kernel == ProgramKernel::kAuxRows ? g.aux_blocks_per_sm : g.quotient_blocks_per_sm;
  return uint64_t(g.sm_count) * uint64_t(per_sm) * kProgramBlock;
}
// Register scratch of a program kernel, in words: the base and extension register files
// (an extension register is three words) of `threads` threads.
PROVER_HOST_DEVICE uint64_t ProgramScratchWords(uint32_t base_regs, uint32_t ext_regs,
                                                uint64_t threads) {
  return (uint64_t{base_regs} + 3 * uint64_t{ext_regs}) * threads;
}

// Coefficients per chunk of a polynomial evaluation (one item of its first launch).
inline constexpr uint64_t kEvalChunk = 256;

// Values of one chunk of the LogUp running-sum scan: one block of kBlock threads, each
// owning kScanChunk / kBlock consecutive values.
inline constexpr uint32_t kScanChunk = 2048;
inline constexpr uint32_t kScanItems = kScanChunk / kBlock;

// Points one thread of the quotient and DEEP kernels takes (one inversion for all their
// denominators).
inline constexpr uint32_t kPointsPerThread = 8;

// Which points a thread of those kernels takes, out of a table's `len`. The table has
// PointThreads(len) threads, in tiles of 32 (a warp) over 256 points: thread t takes the
// points first + 32 k, k < count, first = 256 (t / 32) + t % 32. At each k the 32 threads
// of a warp read 32 consecutive values of a column (one coalesced access), where 8
// consecutive points per thread would have them read 64 bytes apart.
inline constexpr uint32_t kPointLanes = 32;
inline constexpr uint32_t kPointTile = kPointLanes * kPointsPerThread;
struct ThreadPoints {
  uint64_t first = 0;
  uint32_t stride = kPointLanes;
  int count = 0;  // 0 to kPointsPerThread
  PROVER_HOST_DEVICE uint64_t at(int k) const { return first + uint64_t(k) * stride; }
};
PROVER_HOST_DEVICE uint64_t PointThreads(uint64_t len) {
  return (len + kPointTile - 1) / kPointTile * kPointLanes;
}
PROVER_HOST_DEVICE ThreadPoints PointsOfThread(uint64_t t, uint64_t len) {
  ThreadPoints p;
  p.first = t / kPointLanes * kPointTile + t % kPointLanes;
  if (p.first < len) {
    const uint64_t left = (len - p.first + kPointLanes - 1) / kPointLanes;
    p.count = left < kPointsPerThread ? int(left) : int(kPointsPerThread);
  }
  return p;
}

// Blocks for a grid-stride loop over `items` with `block` threads each: enough for one item
// per thread, at least one, at most `cap`.
PROVER_HOST_DEVICE uint32_t BlocksFor(uint64_t items, uint32_t block = kBlock,
                                      uint64_t cap = uint64_t{1} << 20) {
  uint64_t b = (items + block - 1) / block;
  if (b == 0) b = 1;
  return static_cast<uint32_t>(b < cap ? b : cap);
}

// Kernels over many columns (NTT passes, bit reversal, spread, zero checks) give each column
// its own row of blocks: gridDim.y = columns. A launch holds at most kMaxGridY columns, so
// num_cols columns take NumColumnSlices launches; launch i covers the columns
// [first, first + count) of ColumnSliceAt(num_cols, i), in blockIdx.y order.
struct ColumnSlice {
  uint32_t first = 0, count = 0;
};
PROVER_HOST_DEVICE uint32_t NumColumnSlices(uint32_t num_cols) {
  return (num_cols + kMaxGridY - 1) / kMaxGridY;
}
PROVER_HOST_DEVICE ColumnSlice ColumnSliceAt(uint32_t num_cols, uint32_t i) {
  const uint32_t first = i * kMaxGridY;
  const uint32_t left = num_cols - first;
  return ColumnSlice{first, left < kMaxGridY ? left : kMaxGridY};
}

// An NTT pass: blocks of tiles (grid-stride over tiles, at most kMaxGridY of them so that
// the x extent stays small), threads per block, and the tile's shared memory.
struct NttPassGeometry {
  uint32_t blocks = 0, threads = 0;
  uint32_t shared_bytes = 0;
};
PROVER_HOST_DEVICE NttPassGeometry NttPassLaunch(const NttPass& p) {
  NttPassGeometry g;
  const uint64_t tiles = p.tiles();
  g.blocks = static_cast<uint32_t>(tiles < kMaxGridY ? tiles : kMaxGridY);
  const uint64_t half = p.tile_elems() / 2;
  g.threads = static_cast<uint32_t>(half < kNttBlock ? half : kNttBlock);
  g.shared_bytes = static_cast<uint32_t>(sizeof(uint64_t) << kNttTileBits);
  return g;
}

}  // namespace prover::kernels
