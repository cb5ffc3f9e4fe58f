// Where the blocking and CPU-heavy work a request causes runs, so that gRPC's callback
// threads never block on files, hashing or proving-sized computation, and so that what a
// burst of requests can queue is bounded.
//
// WorkPool: a fixed number of threads and a bounded queue. TryPost refuses a task when
// the queue is full (the caller answers RESOURCE_EXHAUSTED or UNAVAILABLE at once);
// Post always queues (continuations of work already admitted). The destructor runs what
// is queued, then joins: a task that owns a gRPC reactor always gets to finish it.
//
// ByteBudget: memory admitted before it is spent. TryReserve grants a Lease (released when
// the lease is destroyed) only when both the total and the key's own share stay within
// their limits, so one tenant cannot take the whole budget.
//
// Both are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace prover::server {

class WorkPool {
 public:
  WorkPool(uint32_t threads, uint32_t max_queued);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when `max_queued` tasks already wait, or after Shutdown; `fn` is then dropped
  // without running.
  bool TryPost(std::function<void()> fn);
  // Always runs `fn`: queued, or at once on the caller's thread after Shutdown.
  void Post(std::function<void()> fn);
  // Runs what is queued, then joins the threads. Idempotent; the destructor calls it.
  void Shutdown();

  size_t queued() const;
  uint32_t threads() const { return uint32_t(threads_.size()); }

 private:
  void Loop();
  const uint32_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class ByteBudget {
 public:
  // `per_key_limit` 0: the key may take the whole budget.
  explicit ByteBudget(uint64_t limit, uint64_t per_key_limit = 0);
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  class Lease {
   public:
    Lease() = default;
    ~Lease() { Release(); }
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept;
    // Grows (or shrinks) the reservation; false (unchanged) when the growth does not fit.
    bool Resize(uint64_t bytes);
    uint64_t bytes() const { return bytes_; }
    void Release();

   private:
    friend class ByteBudget;
    std::shared_ptr<struct BudgetState> state_;
    std::string key_;
    uint64_t bytes_ = 0;
  };

  // nullopt when `bytes` does not fit the total or the key's share now.
  std::optional<Lease> TryReserve(const std::string& key, uint64_t bytes);

  uint64_t used() const;
  uint64_t used(const std::string& key) const;
  uint64_t limit() const;
  uint64_t per_key_limit() const;

 private:
  std::shared_ptr<struct BudgetState> state_;
};

}  // namespace prover::server
