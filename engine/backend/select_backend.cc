#include "engine/backend/select_backend.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/backend/cpu/cpu_backend.h"
#if defined(PROVER_HAVE_CUDA_ENGINE)
#include "engine/backend/cuda/cuda_device.h"
#endif

namespace prover::backend {

absl::StatusOr<std::unique_ptr<Backend>> MakeBackendByName(std::string_view view) {
  const std::string name(view);  // Debian's abseil has its own string_view
  if (name == "cpu") return MakeCpuBackend();
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
#if defined(PROVER_HAVE_CUDA_ENGINE)
    int ordinal = -1;
    if (name.size() > 5 && !absl::SimpleAtoi(name.substr(5), &ordinal)) {
      return absl::InvalidArgumentError(absl::StrCat("engine '", name, "': expected cuda:N"));
    }
    const cuda::GpuDiscovery d = cuda::DiscoverGpus();
    for (const cuda::GpuInfo& g : d.gpus) {
      if (ordinal < 0 || g.ordinal == ordinal) {
        auto b = cuda::MakeCudaBackend(g.ordinal, cuda::GpuOptions());
        if (!b.ok()) return b.status();
        return std::unique_ptr<Backend>(b->release());
      }
    }
    return absl::UnavailableError(absl::StrCat(
        "engine '", name, "': ", d.unavailable.empty() ? "no such GPU" : d.unavailable));
#else
    return absl::UnavailableError(
        absl::StrCat("engine '", name, "': this build has no CUDA engine (nvcc was not found)"));
#endif
  }
  return absl::InvalidArgumentError(
      absl::StrCat("engine '", name, "': expected cpu, cuda or cuda:N"));
}

bool ReadTransferCounters(const Backend& backend, TransferCounters* out) {
#if defined(PROVER_HAVE_CUDA_ENGINE)
  if (const auto* c = dynamic_cast<const cuda::CudaBackend*>(&backend)) {
    const cuda::GpuStats s = c->stats();
    *out = {s.launches, s.bytes_to_device, s.bytes_to_host};
    return true;
  }
#endif
  (void)backend;
  (void)out;
  return false;
}

}  // namespace prover::backend
