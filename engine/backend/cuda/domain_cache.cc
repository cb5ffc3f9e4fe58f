#include "engine/backend/cuda/domain_cache.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/failure.h"

namespace prover::backend::cuda {

DeviceDomainCache::Lease& DeviceDomainCache::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Release();
    cache_ = std::exchange(o.cache_, nullptr);
    key_ = o.key_;
    view_ = std::exchange(o.view_, nullptr);
  }
  return *this;
}

void DeviceDomainCache::Lease::Release() {
  if (cache_ == nullptr) return;
  std::lock_guard<std::mutex> lock(cache_->mu_);
  auto it = cache_->entries_.find(key_);
  if (it != cache_->entries_.end() && it->second.leases > 0) --it->second.leases;
  cache_ = nullptr;
  view_ = nullptr;
}

DeviceDomainCache::~DeviceDomainCache() {
  for (auto& [key, e] : entries_) {
    hooks_.free(e.storage.memory);
    hooks_.unreserve(e.bytes);
  }
}

uint64_t DeviceDomainCache::DomainBytes(int log_n, int log_blowup) {
  const int log_N = log_n + log_blowup;
  const uint64_t half = log_N == 0 ? 1 : uint64_t{1} << (log_N - 1);
  return 8 * (2 * half + (uint64_t{1} << log_n));
}

absl::StatusOr<DeviceDomainCache::Lease> DeviceDomainCache::Get(int log_n, int log_blowup,
                                                                Fp shift) {
  std::lock_guard<std::mutex> lock(mu_);
  const Key key{log_n, log_blowup, shift.value()};
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    const uint64_t bytes = DomainBytes(log_n, log_blowup);
    while (!hooks_.reserve(bytes)) {
      if (EvictLocked(bytes) == 0) {
        return WithFailureKind(
            absl::ResourceExhaustedError(absl::StrCat(
                "device domain cache: a domain of 2^", log_n + log_blowup, " points needs ", bytes,
                " bytes; the device budget is full and every cached domain is in use")),
            FailureKind::kResources);
      }
    }
    absl::StatusOr<Storage> built = hooks_.build(log_n, log_blowup, shift);
    if (!built.ok()) {
      hooks_.unreserve(bytes);
      return built.status();
    }
    Entry e;
    e.storage = *built;
    e.bytes = bytes;
    bytes_ += bytes;
    it = entries_.emplace(key, e).first;
  }
  ++it->second.leases;
  it->second.last_use = ++clock_;
  Lease lease;
  lease.cache_ = this;
  lease.key_ = key;
  lease.view_ = &it->second.storage.view;
  return lease;
}

uint64_t DeviceDomainCache::Evict(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  return EvictLocked(bytes);
}

uint64_t DeviceDomainCache::EvictLocked(uint64_t bytes) {
  uint64_t freed = 0;
  while (freed < bytes) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.leases != 0) continue;
      if (victim == entries_.end() || it->second.last_use < victim->second.last_use) victim = it;
    }
    if (victim == entries_.end()) break;
    hooks_.free(victim->second.storage.memory);
    hooks_.unreserve(victim->second.bytes);
    freed += victim->second.bytes;
    bytes_ -= victim->second.bytes;
    entries_.erase(victim);
  }
  return freed;
}

uint64_t DeviceDomainCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t DeviceDomainCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace prover::backend::cuda
