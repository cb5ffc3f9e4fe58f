// ScratchPool: large host scratch buffers reused across calls and jobs.
//
// Fresh multi-megabyte buffers cost a page fault and a kernel page clear per page; for the
// 128 MiB coefficient scratch of a 16 x 2^20 LDE that is tens of milliseconds per call.
// The pool keeps released buffers (up to a bound on idle bytes, dropping those idle the
// longest first) and hands the smallest fitting one to the next Acquire. Buffers are AlignedBuffers
// (huge pages when large); their contents are unspecified on acquisition.
//
// Thread-safe. A Lease returns its buffer to the pool when destroyed; leases may outlive
// any number of other leases but not the pool (Global() is never destroyed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/base/aligned_buffer.h"

namespace prover {

class ScratchPool {
 public:
  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), buffer_(std::move(o.buffer_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(buffer_));
    }
    // At least the requested number of 64-bit words.
    uint64_t* words() { return buffer_.data(); }
    size_t size_words() const { return buffer_.size(); }

   private:
    friend class ScratchPool;
    Lease(ScratchPool* pool, AlignedBuffer<uint64_t> buffer)
        : pool_(pool), buffer_(std::move(buffer)) {}
    ScratchPool* pool_;
    AlignedBuffer<uint64_t> buffer_;
  };

  struct Stats {
    uint64_t reuses = 0;       // Acquire served from an idle buffer
    uint64_t allocations = 0;  // Acquire that allocated
    size_t idle_bytes = 0;
  };

  explicit ScratchPool(size_t max_idle_bytes) : max_idle_bytes_(max_idle_bytes) {}
  // Process-wide pool keeping at most an eighth of physical memory (at least 1 GiB) idle.
  static ScratchPool& Global();

  Lease Acquire(size_t words);
  Stats stats() const;
  // Frees every idle buffer.
  void Trim();

 private:
  void Release(AlignedBuffer<uint64_t> buffer);

  mutable std::mutex mu_;
  size_t max_idle_bytes_;
  std::vector<AlignedBuffer<uint64_t>> idle_;
  Stats stats_;
};

}  // namespace prover
