// The CPU engine's admission estimate against the real peak memory of proofs of many shapes
// (random multi-table AIRs, the builtin workloads, long chains of extension-valued
// expression nodes), each measured in a fresh process by prover-memory-probe: the estimate
// must cover the peak, and stay within a small factor of it.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace prover {
namespace {

struct Probe {
  uint64_t estimate = 0, peak = 0;
  std::string json;
};

// The probe lives next to this test binary.
std::string BinDir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  return std::filesystem::path(buf).parent_path().string();
}

Probe RunProbe(const std::string& args) {
  const std::string cmd = BinDir() + "/prover-memory-probe " + args;
  Probe p;
  std::FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return p;
  char buf[1024];
  while (std::fgets(buf, sizeof buf, f) != nullptr) p.json += buf;
  ::pclose(f);
  auto field = [&](const std::string& name) -> uint64_t {
    const size_t at = p.json.find("\"" + name + "\":");
    return at == std::string::npos ? 0 : std::stoull(p.json.substr(at + name.size() + 3));
  };
  p.estimate = field("estimate_bytes");
  p.peak = field("proof_rss_bytes");
  return p;
}

TEST(MemoryEstimate, CoversTheMeasuredPeakOfEveryShape) {
  std::vector<std::string> shapes = {
      "--shape fibonacci --log-rows 10",
      "--shape fibonacci --log-rows 17",
      "--shape zkvm --log-rows 10",
      "--shape zkvm --log-rows 12",
      "--shape chain --log-rows 8 --nodes 1024",
      "--shape chain --log-rows 11 --nodes 16384",
      "--shape chain --log-rows 9 --nodes 65536",
  };
  for (int seed = 1; seed <= 8; ++seed) {
    shapes.push_back(absl::StrCat("--shape random --log-rows ", 6 + seed % 6, " --seed ", seed,
                                  " --log-blowup ", 1 + seed % 3));
  }
  for (const std::string& args : shapes) {
    const Probe p = RunProbe(args);
    std::printf("[ memory ] %s", p.json.c_str());
    ASSERT_GT(p.estimate, 0u) << args << ": " << p.json;
    ASSERT_GT(p.peak, 0u) << args << ": " << p.json;
    EXPECT_GE(p.estimate, p.peak) << args << ": the estimate is below the real peak";
    EXPECT_LE(p.estimate, 4 * p.peak + (64ull << 20)) << args << ": the estimate is absurd";
  }
}

}  // namespace
}  // namespace prover
