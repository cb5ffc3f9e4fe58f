// One device's cache of LDE domains (kernels::DeviceDomain: w_N^j and w_N^-j for j < N/2,
// shift^k for k < n), keyed by (log n, log blowup, coset offset), whose memory counts in
// the device's budget like the jobs' own. A job holds a Lease on each domain it uses; an
// entry no job holds is idle, and idle entries are freed, least recently used first, when
// the budget needs their bytes: for another domain (Get), or for a job's allocation
// (Evict). The device supplies the memory through Hooks: the CUDA device's GPU memory, the
// emulated device's host memory, a test's fake. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "absl/status/statusor.h"
#include "engine/field/goldilocks.h"
#include "kernels/descriptors.h"

namespace prover::backend::cuda {

class DeviceDomainCache {
 public:
  // A built domain: the view the kernels read and the memory behind it.
  struct Storage {
    void* memory = nullptr;
    kernels::DeviceDomain view;
  };
  struct Hooks {
    std::function<bool(uint64_t bytes)> reserve;  // from the device's budget; false: full
    std::function<void(uint64_t bytes)> unreserve;
    // Allocates DomainBytes(log_n, log_blowup) bytes and fills them.
    std::function<absl::StatusOr<Storage>(int log_n, int log_blowup, Fp shift)> build;
    std::function<void(void* memory)> free;
  };

  // A job's hold on one domain: the entry stays while a lease on it lives.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { Release(); }
    const kernels::DeviceDomain* get() const { return view_; }

   private:
    friend class DeviceDomainCache;
    void Release();
    DeviceDomainCache* cache_ = nullptr;
    std::tuple<int, int, uint64_t> key_{};
    const kernels::DeviceDomain* view_ = nullptr;
  };

  explicit DeviceDomainCache(Hooks hooks) : hooks_(std::move(hooks)) {}
  // Frees every entry; no lease may outlive the cache.
  ~DeviceDomainCache();
  DeviceDomainCache(const DeviceDomainCache&) = delete;
  DeviceDomainCache& operator=(const DeviceDomainCache&) = delete;

  // The domain, built on first use. RESOURCE_EXHAUSTED when the budget cannot hold it even
  // after every idle entry is freed.
  absl::StatusOr<Lease> Get(int log_n, int log_blowup, Fp shift);
  // Frees idle entries, least recently used first, until at least `bytes` are freed or none
  // is idle; returns the bytes freed (their budget is returned).
  uint64_t Evict(uint64_t bytes);

  uint64_t bytes() const;
  size_t entries() const;
  // The device memory of one domain: 8 (2 * N/2 + n) bytes.
  static uint64_t DomainBytes(int log_n, int log_blowup);

 private:
  struct Entry {
    Storage storage;
    uint64_t bytes = 0;
    uint32_t leases = 0;
    uint64_t last_use = 0;
  };
  using Key = std::tuple<int, int, uint64_t>;
  uint64_t EvictLocked(uint64_t bytes);

  Hooks hooks_;
  mutable std::mutex mu_;
  std::map<Key, Entry> entries_;
  uint64_t bytes_ = 0, clock_ = 0;
};

}  // namespace prover::backend::cuda
