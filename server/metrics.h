// Prometheus metrics (prometheus-cpp), all named prover_*. docs/OPERATIONS.md lists them.
//
// Event counters and histograms are updated by the service as things happen; the gauges
// that describe the present (jobs per state, queue depth, age of the oldest queued job,
// engine occupancy, domain cache) are computed at scrape time from a LiveStats source, so
// they are exact whenever Prometheus looks. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prover::server {

struct LiveStats {
  std::map<std::string, uint64_t> jobs_by_state;  // QUEUED, RUNNING, ...
  uint64_t queue_depth = 0;
  double oldest_queued_age_seconds = 0;
  struct Engine {
    std::string name;
    std::string kind;  // "cpu", "cuda"
    uint32_t running = 0;
    uint64_t reserved_bytes = 0;
    uint64_t budget_bytes = 0;
    bool in_service = true;  // false once its device is lost
    bool has_device = false;
    uint64_t device_memory_in_use = 0, device_memory_peak = 0, device_domain_cache_bytes = 0;
    uint32_t streams = 0, streams_busy = 0;
    uint64_t bytes_to_device = 0, bytes_to_host = 0, kernel_launches = 0;
  };
  std::vector<Engine> engines;
  uint64_t domain_cache_hits = 0, domain_cache_misses = 0, domain_cache_bytes = 0;
  // Queued and running jobs of the busiest tenants (at most kMaxTenantSeries; the rest
  // summed as tenant "other"), so the series stay few whatever the number of tenants.
  struct Tenant {
    std::string name;
    uint64_t queued = 0, running = 0;
  };
  std::vector<Tenant> tenants;
};

inline constexpr size_t kMaxTenantSeries = 20;

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The collectable of the scrape-time gauges (register it with the exposer too).
  std::shared_ptr<prometheus::Collectable> live() const { return live_; }
  void SetLiveSource(std::function<LiveStats()> source);

  void JobSubmitted(const std::string& workload);
  void JobFinished(const std::string& state, const std::string& cause, const std::string& workload,
                   const std::string& engine);
  void JobDuration(const std::string& workload, const std::string& engine, double seconds);
  void QueueWait(const std::string& workload, double seconds);
  void StageDuration(const std::string& stage, const std::string& workload,
                     const std::string& engine, double seconds);
  void ProofSize(const std::string& workload, uint64_t bytes);
  void BytesReceived(uint64_t n) { bytes_in_->Increment(double(n)); }
  void BytesSent(uint64_t n) { bytes_out_->Increment(double(n)); }
  void AuthFailure(const std::string& reason);
  void EngineFallback(const std::string& reason);
  void Request(const std::string& method, const std::string& code);
  // The time from a call's start to its status, per method (streams: their whole life).
  void RequestDuration(const std::string& method, double seconds);
  void RateLimited() { rate_limited_->Increment(); }
  void ArtifactCorruption() { corruptions_->Increment(); }
  // A request refused because a resource budget or quota was full (resource: disk,
  // descriptors, tenant_quota, verify_memory, verify_queue, upload_memory, work_queue,
  // proof_streams, watches).
  void ResourceRefusal(const std::string& resource);
  // A job put back in the queue to retry later (reason: resources, stuck).
  void JobRetried(const std::string& reason);
  // A write of a job attempt that was no longer the job's current one (the watchdog or a
  // lease gave the job to another attempt): discarded.
  void FencedWrite() { fenced_->Increment(); }
  // Cluster mode: a job lease that expired (its node died or was cut off) and was requeued
  // by this node; the time of one claim query.
  void LeaseExpired() { lease_expirations_->Increment(); }
  void ClaimLatency(double seconds) { claim_seconds_->Observe(seconds); }

  // The text exposition of everything (what /metrics serves).
  std::string Render() const;

 private:
  class Live;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> live_;
  Live* live_impl_;
  prometheus::Family<prometheus::Counter>* submitted_;
  prometheus::Family<prometheus::Counter>* finished_;
  prometheus::Family<prometheus::Histogram>* job_seconds_;
  prometheus::Family<prometheus::Histogram>* wait_seconds_;
  prometheus::Family<prometheus::Histogram>* stage_seconds_;
  prometheus::Family<prometheus::Histogram>* proof_bytes_;
  prometheus::Family<prometheus::Counter>* auth_failures_;
  prometheus::Family<prometheus::Counter>* fallbacks_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_seconds_;
  prometheus::Family<prometheus::Counter>* refusals_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Counter* bytes_in_;
  prometheus::Counter* bytes_out_;
  prometheus::Counter* rate_limited_;
  prometheus::Counter* corruptions_;
  prometheus::Counter* fenced_;
  prometheus::Counter* lease_expirations_;
  prometheus::Histogram* claim_seconds_;
};

}  // namespace prover::server
