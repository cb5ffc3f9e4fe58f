#include "server/engines.h"

#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/backend/cpu/cpu_backend.h"

namespace prover::server {
namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return absl::StrCat(line.substr(colon + 2), " (", std::thread::hardware_concurrency(),
                            " threads)");
      }
    }
  }
  return absl::StrCat("CPU (", std::thread::hardware_concurrency(), " threads)");
}

class CpuEngine final : public Engine {
 public:
  CpuEngine(uint64_t budget, uint32_t jobs) : backend_(backend::MakeCpuBackend()) {
    info_.name = "cpu";
    info_.kind = "cpu";
    info_.device = CpuModel();
    info_.memory_budget_bytes = budget;
    info_.max_concurrent_jobs = std::max<uint32_t>(1, jobs);
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return *backend_; }

 private:
  EngineInfo info_;
  std::unique_ptr<backend::Backend> backend_;
};

}  // namespace

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : uint64_t{8} << 30;
}

std::unique_ptr<Engine> MakeCpuEngine(uint64_t memory_budget_bytes, uint32_t max_jobs) {
  return std::make_unique<CpuEngine>(memory_budget_bytes, max_jobs);
}

absl::StatusOr<DiscoveredEngines> DiscoverEngines(const EngineOptions& options) {
  if (options.choice != "auto" && options.choice != "cpu" && options.choice != "cuda") {
    return absl::InvalidArgumentError(
        absl::StrCat("--engine: '", options.choice, "' is not auto, cpu or cuda"));
  }
  DiscoveredEngines out;
  // The CUDA engine plugs in here: one Engine per visible GPU, before the CPU engine.
  out.unavailable.push_back("cuda: this build has no CUDA engine");
  if (options.choice == "cuda") {
    return absl::UnavailableError("--engine cuda: no GPU engine is available (" +
                                  out.unavailable.back() + ")");
  }
  const uint64_t budget =
      options.cpu_memory_bytes != 0 ? options.cpu_memory_bytes : PhysicalMemoryBytes() / 10 * 8;
  out.engines.push_back(MakeCpuEngine(budget, options.cpu_jobs));
  return out;
}

}  // namespace prover::server
