#include "server/engines.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cgroup_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CgroupTest, Version2TheSmallestLimitOnThePath) {
  Write(root_ / "memory.max", "max\n");
  Write(root_ / "docker" / "memory.max", "4294967296\n");
  Write(root_ / "docker" / "abc" / "memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/docker/abc\n", root_.string()), 4294967296u);
  EXPECT_EQ(CgroupMemoryLimit("0::/\n", root_.string()), UINT64_MAX);
}

TEST_F(CgroupTest, Version1MemoryControllerAndItsNoLimitValue) {
  Write(root_ / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");
  Write(root_ / "memory" / "job" / "memory.limit_in_bytes", "2147483648\n");
  const std::string proc = "4:memory:/job\n3:cpu,cpuacct:/job\n0::/\n";
  EXPECT_EQ(CgroupMemoryLimit(proc, root_.string()), 2147483648u);
  EXPECT_EQ(CgroupMemoryLimit("4:memory:/\n", root_.string()), UINT64_MAX);
  EXPECT_EQ(CgroupMemoryLimit("4:cpu:/job\n", root_.string()), UINT64_MAX) << "not memory";
}

TEST_F(CgroupTest, MissingFilesAndGarbageMeanNoLimit) {
  EXPECT_EQ(CgroupMemoryLimit("", root_.string()), UINT64_MAX);
  EXPECT_EQ(CgroupMemoryLimit("garbage\n0:x\n", root_.string()), UINT64_MAX);
  Write(root_ / "memory.max", "lots\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/\n", root_.string()), UINT64_MAX);
}

TEST(PhysicalMemory, IsPositiveAndAtMostTheMachinesRam) {
  const uint64_t m = PhysicalMemoryBytes();
  EXPECT_GT(m, 0u);
  EXPECT_LE(m, uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE)));
}

}  // namespace
}  // namespace prover::server
