// The scheduler: which queued job runs next, and on which engine.
//
// Engines are listed in order of preference (GPUs first, the CPU engine last). Each has a
// memory budget and a number of job slots. A job is dispatched to the first engine with a
// free slot whose unreserved budget covers the job's estimated peak memory; the estimate
// stays reserved until the job returns. A job that fits no engine's whole budget is never
// queued (Fits() tells the caller, who fails it with RESOURCE_EXHAUSTED).
//
// Order: between tenants, fairness: among tenants below their running limit, the one with
// the fewest running jobs goes first, then the one served least recently, then the one
// whose next job has waited longest (so a job requeued after a crash, whose wait starts
// again, goes behind jobs that were already waiting). Priority orders
// a tenant's own jobs only (highest first, then the one queued longest), so one tenant's
// high-priority burst cannot starve another tenant. A job that does not fit the free
// memory now is passed over for smaller ones behind it (backfill), looking at most
// kBackfillDepth jobs deep into each tenant's queue, so a dispatch costs
// O(tenants * depth), not O(queue). A job with a `not_before_ms` in the future (a retry
// after a shortage of disk or descriptors) waits until then; Poke() re-examines the queue.
//
// Jobs run on the scheduler's worker threads (as many as all engines' slots together)
// through the run function, which returns what happened; kRetryOnCpu puts the job back at
// the head of the queue restricted to CPU engines (the fallback after a GPU error);
// kRetryLater puts it back at the head of its tenant's queue, not before kRetryDelayMs.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend/backend.h"

namespace prover::server {

// What an engine runs on. The CPU engine is the fallback of every other kind.
enum class EngineKind { kCpu, kCuda };
// "cpu", "cuda": the API's EngineInfo.kind.
std::string_view EngineKindName(EngineKind kind);

struct EngineInfo {
  std::string name;  // "cpu", "cuda:0"
  EngineKind kind = EngineKind::kCpu;
  std::string device;  // CPU model or GPU name
  uint64_t memory_budget_bytes = 0;
  uint32_t max_concurrent_jobs = 1;
};

// Live figures of a GPU engine's device (for metrics).
struct DeviceFigures {
  uint64_t memory_in_use_bytes = 0, memory_peak_bytes = 0, domain_cache_bytes = 0;
  uint32_t streams = 0, streams_busy = 0;
  uint64_t bytes_to_device = 0, bytes_to_host = 0, kernel_launches = 0;
};

// Something that proves: a Backend and what the scheduler needs to know about it.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual const EngineInfo& info() const = 0;
  virtual backend::Backend& backend() = 0;
  // False for engines without a device (the CPU).
  virtual bool device_figures(DeviceFigures* /*out*/) const { return false; }
};

struct QueuedJob {
  std::string id;
  std::string tenant;
  int32_t priority = 0;
  int64_t queued_ms = 0;  // when it entered the queue: the order within a priority
  uint64_t estimated_bytes = 0;
  bool cpu_only = false;
  int64_t not_before_ms = 0;  // 0: at once
};

enum class RunOutcome { kDone, kRetryOnCpu, kRetryLater };

inline constexpr int64_t kRetryDelayMs = 2000;

inline constexpr size_t kBackfillDepth = 16;

class Scheduler {
 public:
  using RunFn = std::function<RunOutcome(const QueuedJob&, Engine&)>;

  struct EngineStats {
    EngineInfo info;
    uint32_t running = 0;
    uint64_t reserved_bytes = 0;
    std::string out_of_service;  // why the engine takes no more jobs; empty while it does
  };
  struct Stats {
    size_t queued = 0;
    int64_t oldest_queued_ms = 0;  // 0 when nothing is queued
    std::vector<EngineStats> engines;
  };

  Scheduler(std::vector<std::unique_ptr<Engine>> engines, uint32_t max_running_per_tenant,
            RunFn run);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Whether some engine in service could ever run a job of this estimate.
  bool Fits(uint64_t estimated_bytes, bool cpu_only = false) const;
  // The engine takes no more jobs, for good (its device is lost); `why` is shown in the
  // stats. Its running jobs go on and return. Queued jobs go to the other engines, and one
  // that fits no other engine stays queued. False when the engine is not one of these.
  bool TakeOutOfService(const Engine* engine, const std::string& why);
  void Enqueue(QueuedJob job);
  // Removes a queued job; false when it is not queued (running, finished or unknown).
  bool Remove(const std::string& id);
  // Stops dispatching; queued jobs stay queued. Running jobs go on.
  void Pause();
  // Undoes Pause (start-up recovery enqueues everything first, then resumes).
  void Resume();
  // Dispatches what has become eligible (retries whose delay has passed).
  void Poke();
  // Waits until no job runs, at most `timeout`; true when none runs.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Pause, wait for running jobs to return, join the workers.
  void Stop();

  Stats stats() const;
  std::vector<const Engine*> engines() const;
  // Called (on a worker thread, with the scheduler's lock held: it must only signal) each
  // time a job returns and its slot is free again: cluster mode claims the next job then.
  void SetOnSlotFree(std::function<void()> on_slot_free);

 private:
  struct Key {
    int32_t priority;
    int64_t queued_ms;
    std::string id;
    bool operator<(const Key& o) const {
      if (priority != o.priority) return priority > o.priority;
      if (queued_ms != o.queued_ms) return queued_ms < o.queued_ms;
      return id < o.id;
    }
  };
  struct Tenant {
    std::set<Key> queued;
    uint32_t running = 0;
    uint64_t last_served = 0;
  };
  struct Slot {
    std::unique_ptr<Engine> engine;
    uint32_t running = 0;
    uint64_t reserved = 0;
    std::string out_of_service;
  };
  struct Assignment {
    QueuedJob job;
    size_t engine;
  };

  void DispatchLocked();
  int PickEngineLocked(const QueuedJob& job) const;
  void WorkerLoop();

  const uint32_t max_running_per_tenant_;
  RunFn run_;
  std::function<void()> on_slot_free_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::vector<Slot> slots_;
  std::map<std::string, Tenant> tenants_;
  std::map<std::string, QueuedJob> queued_;  // by id
  std::deque<Assignment> ready_;
  uint64_t serve_counter_ = 0;
  uint32_t running_total_ = 0;
  bool paused_ = false, stopping_ = false;
  std::vector<std::thread> workers_;
};

// Cluster mode: the largest job this node could start now, from its scheduler's stats: the
// most unreserved budget of an engine in service with a free slot; 0 when none has one.
// A lost GPU counts for nothing: a job claimed for it would wait under this node's lease
// while other nodes could run it.
uint64_t ClaimableBytes(const Scheduler::Stats& stats);

}  // namespace prover::server
