// The CUDA engine's launch geometry (kernels/geometry.h) at the largest shapes valid input
// reaches, checked on the host in every build: the numbers the launchers pass to the GPU.
#include "kernels/geometry.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/air/air.h"
#include "engine/field/goldilocks.h"

namespace prover::kernels {
namespace {

// The most columns one launch over a size class can see: the AIR limits allow 64 tables of
// 4096 columns of one height, and an aux or quotient launch counts three base columns per
// extension column.
uint32_t MostColumns() {
  const air::AirLimits limits;
  return limits.max_tables * limits.max_columns * 3;
}

TEST(LaunchGeometry, ColumnSlicesCoverEveryColumnOnceWithinGridY) {
  for (uint32_t num_cols :
       {0u, 1u, 2u, 65534u, 65535u, 65536u, 131070u, 131071u, 64u * 4096u, MostColumns()}) {
    SCOPED_TRACE(num_cols);
    std::vector<int> seen(num_cols, 0);
    const uint32_t slices = NumColumnSlices(num_cols);
    for (uint32_t i = 0; i < slices; ++i) {
      const ColumnSlice s = ColumnSliceAt(num_cols, i);
      ASSERT_GE(s.count, 1u);
      ASSERT_LE(s.count, kMaxGridY);
      ASSERT_LE(uint64_t{s.first} + s.count, num_cols);
      for (uint32_t c = 0; c < s.count; ++c) ++seen[s.first + c];
    }
    for (uint32_t c = 0; c < num_cols; ++c) ASSERT_EQ(seen[c], 1) << "column " << c;
  }
}

TEST(LaunchGeometry, NttPassesFitTheDeviceAtEverySize) {
  // Every transform size up to the field's two-adicity (LDEs of 2^26 rows at blowup 16 are
  // 2^30 values).
  for (int log_n = 1; log_n <= Fp::kTwoAdicity; ++log_n) {
    SCOPED_TRACE(log_n);
    NttPass passes[8];
    const int count = PlanNtt(log_n, passes);
    ASSERT_GE(count, 1);
    ASSERT_LE(count, 8);
    int stages = 0;
    for (int i = 0; i < count; ++i) {
      const NttPass& p = passes[i];
      EXPECT_EQ(p.s0, stages);
      stages += p.stages;
      // The tiles partition the column.
      EXPECT_EQ(p.tiles() * p.tile_elems(), uint64_t{1} << log_n);
      EXPECT_LE(p.tile_elems(), uint64_t{1} << kNttTileBits);
      const NttPassGeometry g = NttPassLaunch(p);
      EXPECT_GE(g.blocks, 1u);
      EXPECT_LE(g.blocks, kMaxGridY);
      EXPECT_GE(g.threads, 1u);
      EXPECT_LE(g.threads, kNttBlock);  // the kernel's __launch_bounds__
      EXPECT_LE(g.shared_bytes, kMaxStaticSharedBytes);
      EXPECT_GE(g.shared_bytes, p.tile_elems() * sizeof(uint64_t));
    }
    EXPECT_EQ(stages, log_n);
  }
}

TEST(LaunchGeometry, GridStrideLoopsStayWithinGridX) {
  for (uint64_t items : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 30,
                         uint64_t{3} << 30, uint64_t{1} << 40}) {
    for (uint32_t block : {kBlock, kHashBlock, kPointsBlock, kScanOffsetsBlock}) {
      const uint32_t b = BlocksFor(items, block);
      EXPECT_GE(b, 1u);
      EXPECT_LE(b, uint32_t{1} << 20);
      EXPECT_LE(uint64_t{b}, kMaxGridX);
      if (items <= (uint64_t{1} << 20) * block) {
        EXPECT_GE(uint64_t{b} * block, items);
      }
    }
  }
  for (uint32_t block :
       {kBlock, kHashBlock, kProgramBlock, kPointsBlock, kScanOffsetsBlock, kNttBlock}) {
    EXPECT_LE(block, kMaxBlockThreads);
    EXPECT_EQ(block % 32, 0u) << "whole warps";
  }
}

// The quotient and DEEP threads' points: every point of a table exactly once, at most
// kPointsPerThread per thread, and at each step a full warp reads 32 consecutive points.
TEST(LaunchGeometry, ThreadPointsCoverEveryPointOnceAndWarpsReadConsecutively) {
  for (uint64_t len :
       {uint64_t{1}, uint64_t{2}, uint64_t{8}, uint64_t{31}, uint64_t{32}, uint64_t{255},
        uint64_t{256}, uint64_t{257}, uint64_t{4096}, uint64_t{1} << 16}) {
    SCOPED_TRACE(len);
    const uint64_t threads = PointThreads(len);
    ASSERT_EQ(threads % kPointLanes, 0u) << "whole warps";
    std::vector<int> seen(len, 0);
    for (uint64_t t = 0; t < threads; ++t) {
      const ThreadPoints p = PointsOfThread(t, len);
      ASSERT_GE(p.count, 0);
      ASSERT_LE(p.count, int(kPointsPerThread));
      for (int k = 0; k < p.count; ++k) {
        ASSERT_LT(p.at(k), len);
        ++seen[p.at(k)];
      }
      if (p.count < int(kPointsPerThread)) {
        EXPECT_GE(p.at(p.count), len) << "a thread stops only at the end of the table";
      }
    }
    for (uint64_t i = 0; i < len; ++i) ASSERT_EQ(seen[i], 1) << "point " << i;
    for (uint64_t w = 0; w < threads / kPointLanes; ++w) {
      for (int k = 0; k < int(kPointsPerThread); ++k) {
        const uint64_t base = PointsOfThread(w * kPointLanes, len).at(k);
        for (uint64_t lane = 0; lane < kPointLanes; ++lane) {
          EXPECT_EQ(PointsOfThread(w * kPointLanes + lane, len).at(k), base + lane);
        }
      }
    }
  }
  // The largest tables: LDEs of 2^30 values stay within the grid-stride loops' reach.
  EXPECT_EQ(PointThreads(uint64_t{1} << 30), (uint64_t{1} << 30) / kPointsPerThread);
}

}  // namespace
}  // namespace prover::kernels
