#include "engine/base/scratch_pool.h"

#include <unistd.h>

#include <algorithm>

namespace prover {

ScratchPool& ScratchPool::Global() {
  // An eighth of physical memory, at least 1 GiB: enough to keep every buffer of a
  // zkvm-18-sized job (about 3 GiB) on a 24 GiB host, while idle plus in-use memory stays
  // within RAM next to the engine's admission budget (80% by default).
  static ScratchPool* pool = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    const size_t ram = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
    return new ScratchPool(std::max(size_t{1} << 30, ram / 8));
  }();
  return *pool;
}

ScratchPool::Lease ScratchPool::Acquire(size_t words) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The smallest idle buffer that fits, so big buffers stay for big requests.
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->size() >= words && (best == idle_.end() || it->size() < best->size())) best = it;
    }
    if (best != idle_.end()) {
      AlignedBuffer<uint64_t> b = std::move(*best);
      idle_.erase(best);
      stats_.idle_bytes -= b.size() * sizeof(uint64_t);
      ++stats_.reuses;
      return Lease(this, std::move(b));
    }
    ++stats_.allocations;
  }
  return Lease(this, AlignedBuffer<uint64_t>(words));
}

void ScratchPool::Release(AlignedBuffer<uint64_t> buffer) {
  const size_t bytes = buffer.size() * sizeof(uint64_t);
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes > max_idle_bytes_) return;  // freed on return
  idle_.push_back(std::move(buffer));
  stats_.idle_bytes += bytes;
  // Over the bound: drop the buffers idle the longest first (idle_ is in release order).
  // Those of the job that just ended stay, so a service proving one shape after another
  // keeps the current shape's buffers rather than an older job's big ones.
  while (stats_.idle_bytes > max_idle_bytes_) {
    stats_.idle_bytes -= idle_.front().size() * sizeof(uint64_t);
    idle_.erase(idle_.begin());
  }
}

ScratchPool::Stats ScratchPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ScratchPool::Trim() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
  stats_.idle_bytes = 0;
}

}  // namespace prover
