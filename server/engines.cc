#include "server/engines.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/backend/cpu/cpu_backend.h"
#if defined(PROVER_HAVE_CUDA_ENGINE)
#include "engine/backend/cuda/cuda_device.h"
#endif

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
    info_.kind = EngineKind::kCpu;
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

#if defined(PROVER_HAVE_CUDA_ENGINE)
// One engine per GPU: the CUDA backend with its stream pool; as many jobs at once as it
// has streams, admitted by estimated device memory.
class CudaEngine final : public Engine {
 public:
  explicit CudaEngine(std::unique_ptr<backend::cuda::CudaBackend> b) : backend_(std::move(b)) {
    const backend::cuda::GpuStats s = backend_->stats();
    info_.name = std::string(backend_->name());
    info_.kind = EngineKind::kCuda;
    info_.device = absl::StrCat(backend_->gpu().name, " (sm_", backend_->gpu().compute_major,
                                backend_->gpu().compute_minor, ", ",
                                backend_->gpu().total_memory >> 20, " MiB)");
    info_.memory_budget_bytes = s.memory_budget;
    info_.max_concurrent_jobs = uint32_t(std::max(1, s.streams));
  }
  const EngineInfo& info() const override { return info_; }
  backend::Backend& backend() override { return *backend_; }
  bool device_figures(DeviceFigures* out) const override {
    const backend::cuda::GpuStats s = backend_->stats();
    out->memory_in_use_bytes = s.memory_in_use;
    out->memory_peak_bytes = s.memory_peak;
    out->domain_cache_bytes = s.domain_cache_bytes;
    out->streams = uint32_t(s.streams);
    out->streams_busy = uint32_t(s.streams_busy);
    out->bytes_to_device = s.bytes_to_device;
    out->bytes_to_host = s.bytes_to_host;
    out->kernel_launches = s.launches;
    return true;
  }

 private:
  EngineInfo info_;
  std::unique_ptr<backend::cuda::CudaBackend> backend_;
};
#endif

}  // namespace

namespace {

// A limit file's value; UINT64_MAX for "max", a missing file or a value that means none.
uint64_t ReadLimit(const std::string& path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v) || v == "max") return UINT64_MAX;
  uint64_t x = 0;
  if (!absl::SimpleAtoi(v, &x) || x >= (uint64_t{1} << 62)) return UINT64_MAX;  // v1's "none"
  return x;
}

// The smallest limit in `dir` and each of its parents up to `root`.
uint64_t SmallestOnPath(const std::string& root, std::string path, const char* file) {
  uint64_t limit = UINT64_MAX;
  while (true) {
    limit = std::min(limit, ReadLimit(root + path + (path == "/" ? "" : "/") + file));
    if (path == "/" || path.empty()) break;
    const size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return limit;
}

}  // namespace

uint64_t CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& sys_root) {
  uint64_t limit = UINT64_MAX;
  std::istringstream lines(proc_self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    // "ID:CONTROLLERS:PATH"
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') continue;
    if (controllers.empty()) {  // v2
      limit = std::min(limit, SmallestOnPath(sys_root, path, "memory.max"));
      limit = std::min(limit, SmallestOnPath(sys_root + "/unified", path, "memory.max"));
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      limit = std::min(limit, SmallestOnPath(sys_root + "/memory", path, "memory.limit_in_bytes"));
    }
  }
  return limit;
}

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const uint64_t ram = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : uint64_t{8} << 30;
  std::ifstream in("/proc/self/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  return std::min(ram, CgroupMemoryLimit(text.str(), "/sys/fs/cgroup"));
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
  // GPU engines first (one per visible GPU), then the CPU engine.
  if (options.choice != "cpu") {
#if defined(PROVER_HAVE_CUDA_ENGINE)
    const backend::cuda::GpuDiscovery d = backend::cuda::DiscoverGpus();
    for (const backend::cuda::GpuInfo& g : d.gpus) {
      backend::cuda::GpuOptions o;
      o.memory_budget = options.gpu_memory_bytes;
      o.streams = int(std::max<uint32_t>(1, options.gpu_jobs));
      auto b = backend::cuda::MakeCudaBackend(g.ordinal, o);
      if (!b.ok()) {
        out.unavailable.push_back(absl::StrCat("cuda:", g.ordinal, ": ", b.status().message()));
        continue;
      }
      out.engines.push_back(std::make_unique<CudaEngine>(*std::move(b)));
    }
    if (out.engines.empty()) {
      out.unavailable.push_back(d.unavailable.empty() ? "cuda: no GPU engine started"
                                                      : d.unavailable);
    }
#else
    out.unavailable.push_back("cuda: this build has no CUDA engine");
#endif
  }
  if (options.choice == "cuda" && !out.engines.empty()) return out;
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
