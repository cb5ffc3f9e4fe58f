#include "server/metrics.h"

#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "engine/base/build_info.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace prover::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

const prometheus::Histogram::BucketBoundaries& SecondsBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,    2.5,
      5,     10,     25,    60,   150,   300,  600, 1800, 3600, 7200, 14400};
  return b;
}

const prometheus::Histogram::BucketBoundaries& ByteBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {16e3, 32e3, 64e3, 128e3, 256e3, 512e3,
                                                            1e6,  2e6,  4e6,  8e6,   16e6};
  return b;
}

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Value(MetricType type, double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

// The standard process metrics (the names Prometheus' client libraries use), from /proc.
void AddProcessMetrics(std::vector<MetricFamily>& out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  std::getline(stat_file, stat);
  // Fields after the command name (which may hold spaces) : state is field 3.
  const size_t close = stat.rfind(')');
  std::istringstream rest(close == std::string::npos ? "" : stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  const double tick = double(sysconf(_SC_CLK_TCK)), page = double(sysconf(_SC_PAGESIZE));
  auto field = [&](size_t n) {  // n: the field's number in proc(5), 1-based
    return n >= 3 && n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0;
  };
  auto gauge = [&](const char* name, const char* help, MetricType type, double v) {
    auto family = Family(name, help, type);
    family.metric.push_back(Value(type, v));
    out.push_back(std::move(family));
  };
  gauge("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
        MetricType::Counter, (field(14) + field(15)) / tick);
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
        field(24) * page);
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
        field(23));
  gauge("process_threads", "Threads of the process.", MetricType::Gauge, field(20));
  struct sysinfo si;
  const double boot = ::sysinfo(&si) == 0 ? double(::time(nullptr)) - double(si.uptime) : 0;
  gauge("process_start_time_seconds", "Start time of the process since the epoch, in seconds.",
        MetricType::Gauge, boot + field(22) / tick);
  double fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  gauge("process_open_fds", "Open file descriptors.", MetricType::Gauge, fds);
  struct rlimit rl;
  gauge("process_max_fds", "The descriptor limit.", MetricType::Gauge,
        ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? double(rl.rlim_cur) : 0);
}

}  // namespace

class Metrics::Live : public prometheus::Collectable {
 public:
  void Set(std::function<LiveStats()> source) {
    std::lock_guard<std::mutex> lock(mu_);
    source_ = std::move(source);
  }

  std::vector<MetricFamily> Collect() const override {
    std::function<LiveStats()> source;
    {
      std::lock_guard<std::mutex> lock(mu_);
      source = source_;
    }
    std::vector<MetricFamily> out;
    AddProcessMetrics(out);
    if (!source) return out;
    const LiveStats s = source();
    // What runs: version, commit and the engines, as labels of a constant 1; and the engines
    // by kind, so a GPU host that fell back to the CPU alone can be alerted on.
    std::string engine_names;
    std::map<std::string, double> kinds = {{"cpu", 0}, {"cuda", 0}};
    for (const auto& e : s.engines) {
      engine_names += (engine_names.empty() ? "" : ",") + e.name;
      if (e.in_service) kinds[e.kind] += 1;  // a lost GPU serves no more
    }
    auto info = Family("prover_build_info", "The build and engines of this proverd (always 1).",
                       MetricType::Gauge);
    info.metric.push_back(
        Value(MetricType::Gauge, 1,
              {{"version", BuildVersion()}, {"commit", BuildCommit()}, {"engines", engine_names}}));
    out.push_back(std::move(info));
    auto by_kind = Family("prover_engines", "Engines serving, by kind.", MetricType::Gauge);
    for (const auto& [kind, n] : kinds) {
      by_kind.metric.push_back(Value(MetricType::Gauge, n, {{"kind", kind}}));
    }
    out.push_back(std::move(by_kind));
    auto jobs = Family("prover_jobs", "Jobs the service holds, by state.", MetricType::Gauge);
    for (const char* state : {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}) {
      auto it = s.jobs_by_state.find(state);
      jobs.metric.push_back(Value(MetricType::Gauge,
                                  it == s.jobs_by_state.end() ? 0.0 : double(it->second),
                                  {{"state", state}}));
    }
    out.push_back(std::move(jobs));
    auto per_tenant = Family("prover_tenant_jobs",
                             "Queued and running jobs of the busiest tenants (the rest summed as "
                             "tenant=\"other\").",
                             MetricType::Gauge);
    for (const auto& t : s.tenants) {
      per_tenant.metric.push_back(
          Value(MetricType::Gauge, double(t.queued), {{"tenant", t.name}, {"state", "QUEUED"}}));
      per_tenant.metric.push_back(
          Value(MetricType::Gauge, double(t.running), {{"tenant", t.name}, {"state", "RUNNING"}}));
    }
    out.push_back(std::move(per_tenant));
    auto depth = Family("prover_queue_depth", "Jobs waiting for an engine.", MetricType::Gauge);
    depth.metric.push_back(Value(MetricType::Gauge, double(s.queue_depth)));
    out.push_back(std::move(depth));
    auto age = Family("prover_queue_oldest_age_seconds",
                      "Age of the oldest queued job (0 when none).", MetricType::Gauge);
    age.metric.push_back(Value(MetricType::Gauge, s.oldest_queued_age_seconds));
    out.push_back(std::move(age));
    auto running =
        Family("prover_engine_running_jobs", "Jobs running per engine.", MetricType::Gauge);
    auto reserved =
        Family("prover_engine_memory_reserved_bytes",
               "Estimated peak memory of the jobs running per engine.", MetricType::Gauge);
    auto budget =
        Family("prover_engine_memory_budget_bytes", "Memory budget per engine.", MetricType::Gauge);
    auto in_service = Family("prover_engine_in_service",
                             "1 while an engine takes jobs; 0 once its device is lost (the "
                             "process must restart to use it again).",
                             MetricType::Gauge);
    for (const auto& e : s.engines) {
      in_service.metric.push_back(
          Value(MetricType::Gauge, e.in_service ? 1.0 : 0.0, {{"engine", e.name}}));
      running.metric.push_back(Value(MetricType::Gauge, e.running, {{"engine", e.name}}));
      reserved.metric.push_back(
          Value(MetricType::Gauge, double(e.reserved_bytes), {{"engine", e.name}}));
      budget.metric.push_back(
          Value(MetricType::Gauge, double(e.budget_bytes), {{"engine", e.name}}));
    }
    out.push_back(std::move(in_service));
    out.push_back(std::move(running));
    out.push_back(std::move(reserved));
    out.push_back(std::move(budget));
    // GPU engines: device memory, streams, PCIe traffic and kernel launches.
    auto dmem = Family("prover_gpu_memory_in_use_bytes",
                       "Device memory held by jobs and the domain cache on each GPU engine (its "
                       "budget's use).",
                       MetricType::Gauge);
    auto dpeak = Family("prover_gpu_memory_peak_bytes",
                        "Peak device memory held by jobs on each GPU engine.", MetricType::Gauge);
    auto dcache = Family("prover_gpu_domain_cache_bytes",
                         "Device memory of each GPU's twiddle/domain cache.", MetricType::Gauge);
    auto streams =
        Family("prover_gpu_streams", "CUDA streams per GPU engine, by state.", MetricType::Gauge);
    auto pcie = Family("prover_gpu_pcie_bytes_total", "Bytes copied over PCIe, by direction.",
                       MetricType::Counter);
    auto launches = Family("prover_gpu_kernel_launches_total", "Kernels launched per GPU engine.",
                           MetricType::Counter);
    for (const auto& e : s.engines) {
      if (!e.has_device) continue;
      const std::vector<ClientMetric::Label> l = {{"engine", e.name}};
      dmem.metric.push_back(Value(MetricType::Gauge, double(e.device_memory_in_use), l));
      dpeak.metric.push_back(Value(MetricType::Gauge, double(e.device_memory_peak), l));
      dcache.metric.push_back(Value(MetricType::Gauge, double(e.device_domain_cache_bytes), l));
      streams.metric.push_back(Value(MetricType::Gauge, double(e.streams_busy),
                                     {{"engine", e.name}, {"state", "busy"}}));
      streams.metric.push_back(Value(MetricType::Gauge, double(e.streams - e.streams_busy),
                                     {{"engine", e.name}, {"state", "idle"}}));
      pcie.metric.push_back(Value(MetricType::Counter, double(e.bytes_to_device),
                                  {{"engine", e.name}, {"direction", "to_device"}}));
      pcie.metric.push_back(Value(MetricType::Counter, double(e.bytes_to_host),
                                  {{"engine", e.name}, {"direction", "to_host"}}));
      launches.metric.push_back(Value(MetricType::Counter, double(e.kernel_launches), l));
    }
    for (auto* f : {&dmem, &dpeak, &dcache, &streams, &pcie, &launches}) {
      if (!f->metric.empty()) out.push_back(std::move(*f));  // only with a GPU engine
    }
    auto hits = Family("prover_domain_cache_hits_total", "Domain cache lookups that hit.",
                       MetricType::Counter);
    hits.metric.push_back(Value(MetricType::Counter, double(s.domain_cache_hits)));
    out.push_back(std::move(hits));
    auto misses = Family("prover_domain_cache_misses_total",
                         "Domain cache lookups that built a domain.", MetricType::Counter);
    misses.metric.push_back(Value(MetricType::Counter, double(s.domain_cache_misses)));
    out.push_back(std::move(misses));
    auto bytes =
        Family("prover_domain_cache_bytes", "Bytes held by the domain cache.", MetricType::Gauge);
    bytes.metric.push_back(Value(MetricType::Gauge, double(s.domain_cache_bytes)));
    out.push_back(std::move(bytes));
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::function<LiveStats()> source_;
};

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto live = std::make_shared<Live>();
  live_impl_ = live.get();
  live_ = std::move(live);
  using namespace prometheus;
  submitted_ = &BuildCounter()
                    .Name("prover_jobs_submitted_total")
                    .Help("Jobs accepted (durable), by workload.")
                    .Register(*registry_);
  finished_ = &BuildCounter()
                   .Name("prover_jobs_finished_total")
                   .Help("Jobs that reached a final state, by state, cause, workload and engine.")
                   .Register(*registry_);
  job_seconds_ = &BuildHistogram()
                      .Name("prover_job_duration_seconds")
                      .Help("Time from start to the final state of a run, by workload and engine.")
                      .Register(*registry_);
  wait_seconds_ = &BuildHistogram()
                       .Name("prover_job_queue_wait_seconds")
                       .Help("Time from submission to the start of the run, by workload.")
                       .Register(*registry_);
  stage_seconds_ = &BuildHistogram()
                        .Name("prover_stage_duration_seconds")
                        .Help("Time of each proving stage, by stage, workload and engine.")
                        .Register(*registry_);
  proof_bytes_ = &BuildHistogram()
                      .Name("prover_proof_size_bytes")
                      .Help("Size of the proofs produced, by workload.")
                      .Register(*registry_);
  auth_failures_ = &BuildCounter()
                        .Name("prover_auth_failures_total")
                        .Help("Calls refused as UNAUTHENTICATED, by reason.")
                        .Register(*registry_);
  fallbacks_ = &BuildCounter()
                    .Name("prover_engine_fallbacks_total")
                    .Help("Jobs moved from a GPU to the CPU engine, by reason.")
                    .Register(*registry_);
  requests_ = &BuildCounter()
                   .Name("prover_requests_total")
                   .Help("API calls by method and status code.")
                   .Register(*registry_);
  bytes_in_ = &BuildCounter()
                   .Name("prover_bytes_received_total")
                   .Help("Request payload bytes received.")
                   .Register(*registry_)
                   .Add({});
  bytes_out_ = &BuildCounter()
                    .Name("prover_bytes_sent_total")
                    .Help("Proof bytes sent.")
                    .Register(*registry_)
                    .Add({});
  rate_limited_ = &BuildCounter()
                       .Name("prover_rate_limited_total")
                       .Help("Calls refused by a tenant's rate limit.")
                       .Register(*registry_)
                       .Add({});
  corruptions_ = &BuildCounter()
                      .Name("prover_artifact_corruptions_total")
                      .Help("Artifacts on disk whose checksum did not match (never served).")
                      .Register(*registry_)
                      .Add({});
  request_seconds_ = &BuildHistogram()
                          .Name("prover_request_duration_seconds")
                          .Help(
                              "Time from a call's start to its status, by method (streams: "
                              "their whole life).")
                          .Register(*registry_);
  refusals_ = &BuildCounter()
                   .Name("prover_resource_refusals_total")
                   .Help("Requests refused because a resource budget or quota was full.")
                   .Register(*registry_);
  fenced_ = &BuildCounter()
                 .Name("prover_fenced_writes_total")
                 .Help("Results and progress of superseded job attempts, discarded.")
                 .Register(*registry_)
                 .Add({});
  lease_expirations_ =
      &BuildCounter()
           .Name("prover_lease_expirations_total")
           .Help("Cluster mode: job leases found expired and requeued by this node.")
           .Register(*registry_)
           .Add({});
  claim_seconds_ =
      &BuildHistogram()
           .Name("prover_claim_duration_seconds")
           .Help("Cluster mode: the time of one claim query against the database.")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  retries_ = &BuildCounter()
                  .Name("prover_job_retries_total")
                  .Help("Jobs put back in the queue to retry later, by reason.")
                  .Register(*registry_);
  for (const char* r : {"disk", "descriptors", "tenant_quota", "verify_memory", "verify_queue",
                        "upload_memory", "work_queue", "proof_streams", "watches"}) {
    refusals_->Add({{"resource", r}});
  }
  retries_->Add({{"reason", "resources"}});
  // The fallback reasons exist from the start, so dashboards show zeros, not gaps.
  for (const char* reason : {"gpu_error", "no_gpu_fits"}) fallbacks_->Add({{"reason", reason}});
}

void Metrics::SetLiveSource(std::function<LiveStats()> source) {
  live_impl_->Set(std::move(source));
}

void Metrics::JobSubmitted(const std::string& workload) {
  submitted_->Add({{"workload", workload}}).Increment();
}

void Metrics::JobFinished(const std::string& state, const std::string& cause,
                          const std::string& workload, const std::string& engine) {
  finished_->Add({{"state", state}, {"cause", cause}, {"workload", workload}, {"engine", engine}})
      .Increment();
}

void Metrics::JobDuration(const std::string& workload, const std::string& engine, double s) {
  job_seconds_->Add({{"workload", workload}, {"engine", engine}}, SecondsBuckets()).Observe(s);
}

void Metrics::QueueWait(const std::string& workload, double s) {
  wait_seconds_->Add({{"workload", workload}}, SecondsBuckets()).Observe(s);
}

void Metrics::StageDuration(const std::string& stage, const std::string& workload,
                            const std::string& engine, double s) {
  stage_seconds_
      ->Add({{"stage", stage}, {"workload", workload}, {"engine", engine}}, SecondsBuckets())
      .Observe(s);
}

void Metrics::ProofSize(const std::string& workload, uint64_t bytes) {
  proof_bytes_->Add({{"workload", workload}}, ByteBuckets()).Observe(double(bytes));
}

void Metrics::AuthFailure(const std::string& reason) {
  auth_failures_->Add({{"reason", reason}}).Increment();
}

void Metrics::EngineFallback(const std::string& reason) {
  fallbacks_->Add({{"reason", reason}}).Increment();
}

void Metrics::RequestDuration(const std::string& method, double seconds) {
  request_seconds_->Add({{"method", method}}, SecondsBuckets()).Observe(seconds);
}

void Metrics::ResourceRefusal(const std::string& resource) {
  refusals_->Add({{"resource", resource}}).Increment();
}

void Metrics::JobRetried(const std::string& reason) {
  retries_->Add({{"reason", reason}}).Increment();
}

void Metrics::Request(const std::string& method, const std::string& code) {
  requests_->Add({{"method", method}, {"code", code}}).Increment();
}

std::string Metrics::Render() const {
  auto families = registry_->Collect();
  auto live = live_->Collect();
  families.insert(families.end(), live.begin(), live.end());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace prover::server
