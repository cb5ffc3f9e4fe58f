#include "server/scheduler.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace prover::server {

Scheduler::Scheduler(std::vector<std::unique_ptr<Engine>> engines, uint32_t max_running_per_tenant,
                     RunFn run)
    : max_running_per_tenant_(std::max<uint32_t>(1, max_running_per_tenant)), run_(std::move(run)) {
  uint32_t threads = 0;
  for (auto& e : engines) {
    threads += e->info().max_concurrent_jobs;
    slots_.push_back(Slot{std::move(e), 0, 0, {}});
  }
  for (uint32_t i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

std::string_view EngineKindName(EngineKind kind) {
  return kind == EngineKind::kCuda ? "cuda" : "cpu";
}

Scheduler::~Scheduler() { Stop(); }

bool Scheduler::Fits(uint64_t estimated_bytes, bool cpu_only) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Slot& s : slots_) {
    if (cpu_only && s.engine->info().kind != EngineKind::kCpu) continue;
    if (!s.out_of_service.empty()) continue;
    if (s.engine->info().max_concurrent_jobs > 0 &&
        estimated_bytes <= s.engine->info().memory_budget_bytes) {
      return true;
    }
  }
  return false;
}

void Scheduler::Enqueue(QueuedJob job) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[job.tenant];
  t.queued.insert(Key{job.priority, job.queued_ms, job.id});
  queued_[job.id] = std::move(job);
  DispatchLocked();
}

void Scheduler::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  paused_ = false;
  DispatchLocked();
}

void Scheduler::Poke() {
  std::lock_guard<std::mutex> lock(mu_);
  DispatchLocked();
}

bool Scheduler::Remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queued_.find(id);
  if (it == queued_.end()) return false;
  const QueuedJob& j = it->second;
  tenants_[j.tenant].queued.erase(Key{j.priority, j.queued_ms, j.id});
  queued_.erase(it);
  return true;
}

void Scheduler::Pause() {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = true;
}

bool Scheduler::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return running_total_ == 0 && ready_.empty(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = true;
    stopping_ = true;
    // Assignments not yet picked up go back to the queue.
    for (Assignment& a : ready_) {
      Slot& s = slots_[a.engine];
      --s.running;
      s.reserved -= a.job.estimated_bytes;
      --tenants_[a.job.tenant].running;
      --running_total_;
      tenants_[a.job.tenant].queued.insert(Key{a.job.priority, a.job.queued_ms, a.job.id});
      queued_[a.job.id] = a.job;
    }
    ready_.clear();
  }
  work_cv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

int Scheduler::PickEngineLocked(const QueuedJob& job) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const EngineInfo& info = s.engine->info();
    if (job.cpu_only && info.kind != EngineKind::kCpu) continue;
    if (!s.out_of_service.empty()) continue;
    if (s.running >= info.max_concurrent_jobs) continue;
    if (s.reserved + job.estimated_bytes > info.memory_budget_bytes) continue;
    return int(i);
  }
  return -1;
}

void Scheduler::DispatchLocked() {
  if (paused_) return;
  bool dispatched = false;
  while (!queued_.empty()) {
    // Nothing can start while every engine's slots are taken: the common case under load,
    // answered without looking at the queue.
    bool free_slot = false;
    for (const Slot& s : slots_) free_slot |= s.running < s.engine->info().max_concurrent_jobs;
    if (!free_slot) break;
    // Candidates: the first kBackfillDepth jobs of each eligible tenant, in its order; the
    // best of them that fits the free memory now goes.
    struct Candidate {
      const Key* key;
      std::string tenant;
      uint32_t running;
      uint64_t last_served;
      int64_t head_queued_ms;  // the tenant's first eligible job's
    };
    std::vector<Candidate> candidates;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (auto& [name, t] : tenants_) {
      if (t.queued.empty() || t.running >= max_running_per_tenant_) continue;
      size_t depth = 0;
      int64_t head = -1;
      for (const Key& k : t.queued) {
        if (depth++ == kBackfillDepth) break;
        const QueuedJob& j = queued_.at(k.id);
        if (j.not_before_ms > now) continue;
        if (head < 0) head = j.queued_ms;
        candidates.push_back({&k, name, t.running, t.last_served, head});
      }
    }
    // Fairness between tenants first (fewest running, least recently served, then the one
    // whose next job has waited longest); priority only within a tenant (its keys' order).
    // Every criterion before the key is a property of the tenant: a strict weak order.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.running != b.running) return a.running < b.running;
      if (a.last_served != b.last_served) return a.last_served < b.last_served;
      if (a.head_queued_ms != b.head_queued_ms) return a.head_queued_ms < b.head_queued_ms;
      if (a.tenant != b.tenant) return a.tenant < b.tenant;
      return *a.key < *b.key;
    });
    bool found = false;
    for (const Candidate& c : candidates) {
      const QueuedJob job = queued_.at(c.key->id);
      const int e = PickEngineLocked(job);
      if (e < 0) continue;
      Tenant& t = tenants_[c.tenant];
      Slot& s = slots_[size_t(e)];
      ++s.running;
      s.reserved += job.estimated_bytes;
      ++t.running;
      t.last_served = ++serve_counter_;
      ++running_total_;
      ready_.push_back(Assignment{job, size_t(e)});
      t.queued.erase(*c.key);  // invalidates c.key: leave the loop
      queued_.erase(job.id);
      found = dispatched = true;
      break;
    }
    if (!found) break;
  }
  if (dispatched) work_cv_.notify_all();
}

void Scheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (ready_.empty()) {
      if (stopping_) return;
      continue;
    }
    Assignment a = std::move(ready_.front());
    ready_.pop_front();
    Engine& engine = *slots_[a.engine].engine;
    lock.unlock();
    const RunOutcome outcome = run_(a.job, engine);
    lock.lock();
    Slot& s = slots_[a.engine];
    --s.running;
    s.reserved -= a.job.estimated_bytes;
    --tenants_[a.job.tenant].running;
    --running_total_;
    if (outcome != RunOutcome::kDone && !stopping_) {
      QueuedJob retry = a.job;
      if (outcome == RunOutcome::kRetryOnCpu) retry.cpu_only = true;
      if (outcome == RunOutcome::kRetryLater) {
        retry.not_before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() +
                              kRetryDelayMs;
      }
      // The head of its tenant's queue: it was already dispatched once.
      retry.priority = std::numeric_limits<int32_t>::max();
      tenants_[retry.tenant].queued.insert(Key{retry.priority, retry.queued_ms, retry.id});
      queued_[retry.id] = retry;
    }
    if (running_total_ == 0 && ready_.empty()) idle_cv_.notify_all();
    DispatchLocked();
    if (on_slot_free_) on_slot_free_();
  }
}

void Scheduler::SetOnSlotFree(std::function<void()> on_slot_free) {
  std::lock_guard<std::mutex> lock(mu_);
  on_slot_free_ = std::move(on_slot_free);
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats st;
  st.queued = queued_.size();
  for (const auto& [id, j] : queued_) {
    if (st.oldest_queued_ms == 0 || j.queued_ms < st.oldest_queued_ms) {
      st.oldest_queued_ms = j.queued_ms;
    }
  }
  for (const Slot& s : slots_) {
    st.engines.push_back({s.engine->info(), s.running, s.reserved, s.out_of_service});
  }
  return st;
}

bool Scheduler::TakeOutOfService(const Engine* engine, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Slot& s : slots_) {
    if (s.engine.get() != engine) continue;
    if (s.out_of_service.empty()) s.out_of_service = why.empty() ? "out of service" : why;
    return true;
  }
  return false;
}

std::vector<const Engine*> Scheduler::engines() const {
  std::vector<const Engine*> out;
  for (const Slot& s : slots_) out.push_back(s.engine.get());
  return out;
}

uint64_t ClaimableBytes(const Scheduler::Stats& stats) {
  uint64_t max_bytes = 0;
  for (const Scheduler::EngineStats& e : stats.engines) {
    if (e.out_of_service.empty() && e.running < e.info.max_concurrent_jobs &&
        e.reserved_bytes < e.info.memory_budget_bytes) {
      max_bytes = std::max(max_bytes, e.info.memory_budget_bytes - e.reserved_bytes);
    }
  }
  return max_bytes;
}

}  // namespace prover::server
