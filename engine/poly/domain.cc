#include "engine/poly/domain.h"

#include <algorithm>
#include <bit>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/bits.h"
#include "engine/poly/ntt_kernels.h"

namespace prover {
namespace {

NttTwiddles MakeTwiddles(int log_n, int log_n1, int log_n2, bool inverse) {
  NttTwiddles t;
  int log_max = std::max({log_n1, log_n2, 1});
  if (log_n <= kDirectNttMaxLog) log_max = std::max(log_max, log_n);
  const size_t max_size = size_t{1} << log_max;
  t.stage.assign(max_size, Fp::One());
  for (size_t h = 1; h < max_size; h *= 2) {
    Fp w = Fp::RootOfUnity(std::countr_zero(2 * h));
    if (inverse) w = w.Inverse();
    Fp x = Fp::One();
    for (size_t j = 0; j < h; ++j, x *= w) t.stage[h + j] = x;
  }
  if (log_n1 >= 1) {
    Fp wn = Fp::RootOfUnity(log_n);
    if (inverse) wn = wn.Inverse();
    const size_t n1 = size_t{1} << log_n1;
    t.row_roots.resize(n1);
    for (size_t p = 0; p < n1; ++p) {
      t.row_roots[p] = wn.Pow(BitRev32(uint32_t(p), log_n1));
    }
  }
  return t;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Domain>> Domain::Create(const DomainKey& key) {
  if (key.log_n < 0 || key.log_blowup < 0 || key.log_n + key.log_blowup > Fp::kTwoAdicity) {
    return absl::InvalidArgumentError(absl::StrCat("domain: log_n (", key.log_n, ") + log_blowup (",
                                                   key.log_blowup, ") must lie in [0, 32]"));
  }
  if (key.shift == 0 || key.shift >= Fp::kModulus) {
    return absl::InvalidArgumentError("domain: the coset offset must be a non-zero field element");
  }
  std::shared_ptr<Domain> d(new Domain());
  d->key_ = key;
  d->log_n2_ = std::max((key.log_n + 1) / 2, 3);
  d->log_n1_ = key.log_n - d->log_n2_;
  if (d->log_n1_ < 1) d->log_n1_ = 0, d->log_n2_ = key.log_n;
  d->forward_ = MakeTwiddles(key.log_n, d->log_n1_, d->log_n2_, /*inverse=*/false);
  d->inverse_ = MakeTwiddles(key.log_n, d->log_n1_, d->log_n2_, /*inverse=*/true);

  const size_t blowup = d->blowup();
  const Fp n_inv = Fp::FromCanonical(d->n()).Inverse();
  const Fp w_lde = Fp::RootOfUnity(key.log_n + key.log_blowup);
  const Fp shift = Fp::FromCanonical(key.shift);
  const size_t n1 = d->n1();
  d->coset_offset_.resize(blowup);
  d->coset_hi_.resize(blowup * n1);
  if (!d->four_step()) d->coset_lo_.resize(blowup * d->n());
  for (size_t j = 0; j < blowup; ++j) {
    const Fp c = shift * w_lde.Pow(j);
    d->coset_offset_[j] = c;
    if (d->four_step()) {
      const Fp c_n2 = c.Pow(size_t{1} << d->log_n2_);
      for (size_t p = 0; p < n1; ++p) {
        d->coset_hi_[j * n1 + p] = c_n2.Pow(BitRev32(uint32_t(p), d->log_n1_)) * n_inv;
      }
    } else {
      Fp x = n_inv;
      for (size_t i = 0; i < d->n(); ++i, x *= c) d->coset_lo_[j * d->n() + i] = x;
    }
  }
  return std::shared_ptr<const Domain>(std::move(d));
}

size_t Domain::bytes() const {
  return sizeof(Domain) + sizeof(Fp) * (forward_.stage.size() + forward_.row_roots.size() +
                                        inverse_.stage.size() + inverse_.row_roots.size() +
                                        coset_offset_.size() + coset_hi_.size() + coset_lo_.size());
}

DomainCache::DomainCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

DomainCache& DomainCache::Global() {
  static DomainCache* cache = new DomainCache(size_t{256} << 20);
  return *cache;
}

absl::StatusOr<std::shared_ptr<const Domain>> DomainCache::Get(const DomainKey& key) {
  std::promise<std::shared_ptr<const Domain>> promise;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      ++stats_.hits;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      std::shared_future<std::shared_ptr<const Domain>> future = it->second.domain;
      lock.unlock();
      std::shared_ptr<const Domain> d = future.get();  // waits while another thread builds it
      if (d != nullptr) return d;
      return Domain::Create(key).status();  // the builder failed: report the same error
    }
    ++stats_.misses;
    lru_.push_front(key);
    entries_.emplace(key, Entry{promise.get_future().share(), 0, lru_.begin()});
  }
  absl::StatusOr<std::shared_ptr<const Domain>> built = Domain::Create(key);
  promise.set_value(built.ok() ? *built : nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (!built.ok()) {
      lru_.erase(it->second.lru);
      entries_.erase(it);
    } else {
      it->second.bytes = (*built)->bytes();
      stats_.bytes += it->second.bytes;
      ++stats_.entries;
      EvictLocked();
    }
  }
  return built;
}

void DomainCache::EvictLocked() {
  while (stats_.bytes > capacity_ && !lru_.empty()) {
    // The least recently used finished entry goes first; entries still being built stay.
    auto victim = std::find_if(lru_.rbegin(), lru_.rend(),
                               [&](const DomainKey& k) { return entries_.at(k).bytes != 0; });
    if (victim == lru_.rend()) break;
    auto it = entries_.find(*victim);
    stats_.bytes -= it->second.bytes;
    --stats_.entries;
    ++stats_.evictions;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
}

DomainCache::Stats DomainCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t DomainCache::capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

void DomainCache::SetCapacity(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = bytes;
  EvictLocked();
}

void DomainCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.bytes == 0) {
      ++it;  // being built; its builder finishes the bookkeeping
      continue;
    }
    stats_.bytes -= it->second.bytes;
    --stats_.entries;
    lru_.erase(it->second.lru);
    it = entries_.erase(it);
  }
}

}  // namespace prover
