#include "server/job_manager.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/base/build_info.h"
#include "engine/base/failure.h"
#include "engine/poly/domain.h"
#include "engine/stark/prover.h"
#include "server/log.h"

namespace prover::server {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewJobId() {
  static thread_local std::mt19937_64 rng(
      std::random_device{}() ^ uint64_t(std::hash<std::thread::id>()(std::this_thread::get_id())));
  // 128 random bits: ids are unguessable, so knowing one reveals nothing about others.
  return absl::StrFormat("j%016x%016x", rng(), rng());
}

std::string NewNodeId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "node");
  std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%s-%d-%06x", host, int(::getpid()), rng() & 0xffffff);
}

namespace {

constexpr size_t kMaxErrorBytes = 4096;
// Cluster mode: the rows of nodes silent this long leave the nodes table.
constexpr int64_t kForgetNodesAfterMs = int64_t{24} * 3600 * 1000;

// A job's log line: its id, its trace id when the client sent one, then `fields`.
void JobLog(LogLevel level, std::string_view message, const std::string& id,
            const std::string& trace_id, std::initializer_list<LogField> fields = {}) {
  std::vector<LogField> all = {{"job_id", id}};
  if (!trace_id.empty()) all.push_back({"trace_id", trace_id});
  all.insert(all.end(), fields.begin(), fields.end());
  Log(level, message, all);
}

// Under the job table's lock: the record may be replaced by another thread otherwise.
void JobLog(LogLevel level, std::string_view message, const JobRecord& r,
            std::initializer_list<LogField> fields = {}) {
  JobLog(level, message, r.id, r.trace_id, fields);
}

std::string Gib(uint64_t bytes) { return absl::StrFormat("%.2f GiB", double(bytes) / (1 << 30)); }

}  // namespace

JobManager::JobManager(const ManagerOptions& options, Metrics* metrics)
    : options_(options), metrics_(metrics) {}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Open(
    const ManagerOptions& options, std::vector<std::unique_ptr<Engine>> engines, Metrics* metrics) {
  if (engines.empty()) return absl::UnavailableError("no engine to run jobs on");
  // The data directory first: a default SQLite database lives in it.
  if (auto artifacts = ArtifactStore::Open(options.data_dir); !artifacts.ok()) {
    return artifacts.status();
  }
  auto store = JobStore::Open(
      options.database.empty() ? "sqlite:" + options.data_dir + "/prover.db" : options.database,
      /*exclusive=*/!options.cluster, options.database_password);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("--database: ", store.status().message()));
  }
  return Open(options, std::move(engines), metrics, *std::move(store));
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Open(
    const ManagerOptions& options, std::vector<std::unique_ptr<Engine>> engines, Metrics* metrics,
    std::unique_ptr<JobStore> store) {
  if (engines.empty()) return absl::UnavailableError("no engine to run jobs on");
  std::unique_ptr<JobManager> m(new JobManager(options, metrics));
  auto artifacts = ArtifactStore::Open(options.data_dir);
  if (!artifacts.ok()) return artifacts.status();
  m->artifacts_ = *std::move(artifacts);
  // Cluster mode: other nodes write into the same directory; only their writes that have
  // been interrupted for an hour are leftovers.
  if (const int n = m->artifacts_->RemoveTemporaries(options.cluster ? std::chrono::hours(1)
                                                                     : std::chrono::hours(0));
      n > 0) {
    Log(LogLevel::kInfo, "removed leftovers of interrupted writes", {{"files", std::to_string(n)}});
  }
  m->store_ = std::move(store);
  Log(LogLevel::kInfo, "job database open",
      {{"kind", m->store_->kind()},
       {"schema_version", std::to_string(m->store_->schema_version())}});
  for (auto& e : engines) {
    if (e->info().kind == EngineKind::kCpu) m->estimator_ = &e->backend();
  }
  if (m->estimator_ == nullptr) m->estimator_ = &engines.back()->backend();
  JobManager* self = m.get();
  m->scheduler_ = std::make_unique<Scheduler>(
      std::move(engines), options.max_running_per_tenant,
      [self](const QueuedJob& job, Engine& engine) { return self->Run(job, engine); });
  m->scheduler_->Pause();
  m->started_ms_ = NowMs();
  m->node_id_ = options.node_id.empty() ? NewNodeId() : options.node_id;
  m->node_address_ = options.node_address;
  if (auto s = m->Recover(); !s.ok()) return s;
  if (options.cluster) {
    if (options.lease_ms < 100) {
      return absl::InvalidArgumentError("--lease-ms: at least 100");
    }
    // Hear of other nodes' changes from now on, then register, then claim.
    if (auto s = m->store_->Listen([self](const std::vector<std::string>& ids) {
          self->RequestReload(ids.empty() ? std::vector<std::string>{""} : ids);
        });
        !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("--database: listening for changes: ", s.message()));
    }
    // A change committed between Recover's load and the LISTEN's start is in no
    // notification: everything is read once more, now that every later change will be
    // heard. (Without this, a job another node finished in that window stayed unfinished
    // in this node's view: found by the CI load test, a node restarted mid-load.)
    m->RequestReload({""});
    m->mirror_ = std::thread([self] { self->MirrorLoop(); });
    m->heartbeat_ = std::thread([self] { self->HeartbeatLoop(); });
    m->scheduler_->SetOnSlotFree([self] { self->WakeClaimer(); });
    m->claimer_ = std::thread([self] { self->ClaimLoop(); });
    Log(LogLevel::kInfo, "cluster node started",
        {{"node", m->node_id_}, {"lease_ms", std::to_string(options.lease_ms)}});
  }
  m->scheduler_->Resume();
  if (metrics != nullptr) metrics->SetLiveSource([self] { return self->Live(); });
  m->housekeeping_ = std::thread([self] { self->HousekeepingLoop(); });
  return m;
}

JobManager::~JobManager() {
  {
    std::lock_guard<std::mutex> lock(hk_mu_);
    hk_stop_ = true;
  }
  hk_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    claim_stop_ = true;
  }
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  // No new job starts (Run also refuses once draining_ is set), then the running ones stop.
  if (scheduler_) scheduler_->Pause();
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    for (auto& [id, e] : jobs_) {
      if (e->rec.state == v1::RUNNING) StopLocked(e, StopReason::kDrain);
    }
  }
  // Open may fail half-way (a bad database, a data directory that is a file): whatever
  // was not built is not stopped.
  if (scheduler_) scheduler_->Stop();
  if (scheduler_ && store_) ReleaseClaims();
  // The last fenced writes (requeues of stopped jobs) are committed while the leases are
  // still beaten; then the node's threads end, and the store (its listener calls into this
  // object) before the members they use.
  if (store_) store_->Flush();
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    cluster_stop_ = true;
  }
  mirror_cv_.notify_all();
  beat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (mirror_.joinable()) mirror_.join();
  if (metrics_ != nullptr) metrics_->SetLiveSource(nullptr);
  if (store_) store_->Flush();
  // The store goes first of the members (it is declared last): its listener and writer,
  // whose callbacks use the others, end before them.
}

absl::Status JobManager::Recover() {
  auto rows = store_->LoadAll();
  if (!rows.ok()) return rows.status();
  if (options_.cluster) {
    // Other nodes are alive: their RUNNING jobs are theirs until their leases expire (any
    // node requeues them then), and files no row names yet may be their submissions in
    // progress. Queued jobs are the database's queue.
    std::lock_guard<std::mutex> lock(mu_);
    for (JobRecord& r : *rows) AdoptLocked(std::move(r), /*enqueue=*/false);
    Log(LogLevel::kInfo, "loaded the cluster's jobs",
        {{"jobs", std::to_string(jobs_.size())}, {"node", node_id_}});
    return absl::OkStatus();
  }
  std::set<std::string> inputs, proofs;
  int requeued = 0, queued = 0, quarantined = 0, cancelled = 0, unknown = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (JobRecord& r : *rows) {
    EntryPtr e = AdoptLocked(std::move(r), /*enqueue=*/false);
    const std::string id = e->id;
    // What a dead process left, settled through the state machine like any other change.
    const JobRecord& rec = e->rec;
    if (!v1::JobState_IsValid(rec.state) || rec.state == v1::JOB_STATE_UNSPECIFIED) {
      ++unknown;
      TransitionLocked(e, Move::Finish(v1::FAILED, v1::INTERNAL,
                                       absl::StrCat("the job's database row had an unknown state ",
                                                    int(rec.state))));
    } else if (rec.state == v1::RUNNING) {
      // The process died in the middle of this proof.
      JobRecord crashed = rec;
      ++crashed.crashes;
      ApplyLocked(e, std::move(crashed));
      if (rec.cancel_requested) {
        ++cancelled;
        TransitionLocked(e, Move::Cancelled());
      } else if (rec.crashes >= options_.max_crashes) {
        ++quarantined;
        TransitionLocked(
            e, Move::Finish(v1::FAILED, v1::QUARANTINED,
                            absl::StrCat("the server process died ", rec.crashes,
                                         " times while proving this job; it is not run again")));
      } else {
        // Behind every job already waiting: a job that kills the process must not run
        // first on every start.
        ++requeued;
        TransitionLocked(e, Move::Requeue("crash", /*to_back=*/true));
      }
    } else if (rec.state == v1::QUEUED && rec.cancel_requested) {
      ++cancelled;
      TransitionLocked(e, Move::Cancelled());
    } else if (rec.final() && !rec.input_sha256.empty()) {
      // Inputs of final jobs are not kept (the file is an orphan, removed below).
      JobRecord cleared = rec;
      cleared.input_sha256.clear();
      cleared.input_bytes = 0;
      ApplyLocked(e, std::move(cleared));
      store_->Put(e->rec);
    }
    if (!rec.input_sha256.empty()) inputs.insert(id);
    if (rec.state == v1::SUCCEEDED) proofs.insert(id);
    if (rec.state == v1::QUEUED) {
      ++queued;
      QueueLocked(rec);
    }
  }
  // Files no job refers to: a crash between writing them and committing the row, or
  // between deleting the row (or finishing the job) and the files.
  int orphans = 0;
  for (const std::string& name : artifacts_->List(ArtifactKind::kInput)) {
    if (!inputs.count(name)) orphans += artifacts_->Remove(ArtifactKind::kInput, name).ok();
  }
  for (const std::string& name : artifacts_->List(ArtifactKind::kProof)) {
    if (!proofs.count(name)) orphans += artifacts_->Remove(ArtifactKind::kProof, name).ok();
  }
  Log(LogLevel::kInfo, "recovered jobs",
      {{"jobs", std::to_string(jobs_.size())},
       {"queued", std::to_string(queued)},
       {"requeued_after_crash", std::to_string(requeued)},
       {"quarantined", std::to_string(quarantined)},
       {"cancelled", std::to_string(cancelled)},
       {"unknown_state", std::to_string(unknown)},
       {"orphan_files_removed", std::to_string(orphans)}});
  return absl::OkStatus();
}

JobManager::EntryPtr JobManager::AdoptLocked(JobRecord r, bool enqueue) {
  auto e = std::make_shared<Entry>();
  e->durable = true;
  r.stage.clear();
  r.progress = 0;
  e->id = r.id;
  e->trace_id = r.trace_id;
  e->rec = std::move(r);
  const JobRecord& rec = e->rec;
  jobs_[rec.id] = e;
  if (!rec.request_id.empty()) by_request_[{rec.tenant, rec.request_id}] = rec.id;
  {
    std::lock_guard<std::mutex> index(index_mu_);
    by_tenant_[rec.tenant][{rec.created_ms, rec.id}] = e;
  }
  CountLocked(rec, +1);
  PublishLocked(e);
  if (enqueue && rec.state == v1::QUEUED) QueueLocked(rec);
  return e;
}

void JobManager::QueueLocked(const JobRecord& r) {
  if (options_.cluster) {
    WakeClaimer();
    return;
  }
  scheduler_->Enqueue(QueuedJob{r.id, r.tenant, r.priority,
                                r.queued_ms != 0 ? r.queued_ms : r.created_ms, r.estimated_bytes,
                                false});
}

JobManager::EntryPtr JobManager::FindLocked(const std::string& tenant,
                                            const std::string& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second->durable || it->second->rec.tenant != tenant) return nullptr;
  return it->second;
}

void JobManager::Notify(const EntryPtr& e) {
  uint64_t version;
  v1::Job job;
  std::vector<Watcher> watchers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version = e->version;
    job = ToProto(e->rec);
    for (auto& [token, w] : e->watchers) watchers.push_back(w);
  }
  for (auto& w : watchers) w(version, job);
}

void JobManager::PublishLocked(const EntryPtr& e) {
  ++e->version;
  e->view.store(std::make_shared<const v1::Job>(ToProto(e->rec)));
}

void JobManager::Persist(const EntryPtr& e, bool notify_after_commit, JobDone done) {
  // Under mu_. This write carries the whole record: it stands for any earlier one that
  // failed, and tells the watchers those owed.
  notify_after_commit = notify_after_commit || e->unsaved_notify;
  e->unsaved = e->unsaved_notify = false;
  ++e->writes_in_flight;
  const uint64_t started = ++e->writes_started;
  const Guard guard = e->guard;
  auto committed = [this, e, guard, started, notify_after_commit,
                    done = std::move(done)](absl::Status s) {
    const bool refused =
        s.code() == absl::StatusCode::kFailedPrecondition && guard.kind != Guard::kNone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --e->writes_in_flight;
      if (refused && e->writes_started == started && e->before_guarded) {
        ApplyLocked(e, *e->before_guarded);  // what the database still says (until reread)
      }
      if (s.ok() || refused) e->before_guarded.reset();
    }
    if (refused) {
      // Cluster mode: the job moved on without this node (its lease expired and another node
      // took it, or another node settled the queued job first). Nothing changed; the row is
      // read again, and a holder's late write is counted.
      if (guard.kind == Guard::kFenced) {
        if (metrics_ != nullptr) metrics_->FencedWrite();
        JobLog(LogLevel::kWarning, "discarded the write of an attempt whose lease was lost", e->id,
               e->trace_id,
               {{"attempt", std::to_string(guard.fence.attempt)},
                {"error", std::string(s.message())}});
      }
      RequestReload({e->id});
      if (done) done(s);
      return;
    }
    if (!s.ok()) {
      // The database is the truth: the record is written again (housekeeping) until it is
      // committed, and watchers hear of the change only then.
      JobLog(LogLevel::kError, "job store write failed; it is retried", e->id, e->trace_id,
             {{"error", std::string(s.message())}});
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Cluster mode: a later write (or a claim) of the job stands for this one.
        if (!options_.cluster || e->writes_started == started) e->unsaved = true;
        e->unsaved_notify = e->unsaved_notify || notify_after_commit;
      }
      if (done) done(absl::UnavailableError("cannot store the change yet; try again"));
      return;
    }
    if (notify_after_commit) Notify(e);
    if (done) {
      v1::Job job;
      {
        std::lock_guard<std::mutex> lock(mu_);
        job = ToProto(e->rec);
      }
      done(job);
    }
  };
  switch (guard.kind) {
    case Guard::kFenced:
      store_->PutFenced(e->rec, guard.fence, std::move(committed));
      break;
    case Guard::kIfQueued:
      store_->PutIfQueued(e->rec, std::move(committed));
      break;
    case Guard::kNone:
      store_->Put(e->rec, std::move(committed));
      break;
  }
}

namespace {

// Descriptors this process may still open (RLIMIT_NOFILE less those open now).
uint64_t FreeDescriptors() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  uint64_t open = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++open;
  }
  if (ec) {
    // Not even the directory could be opened: none left; without /proc, unknown.
    return ec.value() == EMFILE || ec.value() == ENFILE ? 0 : UINT64_MAX;
  }
  return rl.rlim_cur > open ? rl.rlim_cur - open : 0;
}

}  // namespace

absl::Status JobManager::CheckMachineResources(uint64_t incoming_bytes,
                                               const char** resource) const {
  const uint64_t free_disk = artifacts_->FreeBytes();
  if (free_disk < options_.min_free_disk_bytes + incoming_bytes) {
    *resource = "disk";
    return absl::UnavailableError(absl::StrCat("the server's disk is nearly full (", free_disk,
                                               " bytes free, ", options_.min_free_disk_bytes,
                                               " kept in reserve); try again later"));
  }
  if (FreeDescriptors() < options_.min_free_descriptors) {
    *resource = "descriptors";
    return absl::UnavailableError(
        "the server is short of file descriptors (too many connections); try again later");
  }
  return absl::OkStatus();
}

void JobManager::Submit(const std::string& tenant, v1::SubmitProofRequest request,
                        std::string trace, SubmitDone done, const std::string& trace_id) {
  auto prepared = PrepareJob(request, trace, options_.request_limits);
  if (!prepared.ok()) return done(prepared.status(), false);
  const uint64_t estimate =
      EstimateJobBytes(*estimator_, prepared->air, prepared->log_rows, prepared->params);
  if (!scheduler_->Fits(estimate)) {
    uint64_t largest = 0;
    for (const Scheduler::EngineStats& e : engines()) {
      if (e.out_of_service.empty()) largest = std::max(largest, e.info.memory_budget_bytes);
    }
    return done(absl::ResourceExhaustedError(absl::StrCat("the job needs about ", Gib(estimate),
                                                          " of memory; the largest engine has ",
                                                          Gib(largest))),
                false);
  }
  std::string request_bytes = prepared->request.SerializeAsString();
  const uint64_t stored = request_bytes.size() + trace.size();
  // System calls, outside the job table's lock; applied below to new jobs only (a duplicate
  // stores nothing).
  const char* short_of = nullptr;
  const absl::Status machine = CheckMachineResources(stored, &short_of);

  EntryPtr e;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (draining_) {
      lock.unlock();
      return done(absl::UnavailableError("the server is shutting down"), false);
    }
    const std::string& rid = request.request_id();
    if (!rid.empty()) {
      auto it = by_request_.find({tenant, rid});
      if (it != by_request_.end()) {
        EntryPtr prior = jobs_.at(it->second);
        if (prior->rec.content_hash != prepared->content_hash) {
          lock.unlock();
          return done(absl::AlreadyExistsError(absl::StrCat(
                          "request_id: '", rid, "' was used for a different request (job ",
                          prior->rec.id, ")")),
                      false);
        }
        if (!prior->durable) {
          prior->on_durable.push_back(std::move(done));
          return;
        }
        v1::Job job = ToProto(prior->rec);
        lock.unlock();
        return done(job, true);
      }
    }
    const TenantUsage u = usage_.count(tenant) ? usage_.at(tenant) : TenantUsage{};
    absl::Status refused;
    if (u.queued >= options_.max_queued_per_tenant) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("tenant ", tenant, " has ", options_.max_queued_per_tenant,
                       " queued jobs, the limit; wait for some to finish"));
    } else if (u.jobs >= options_.max_jobs_per_tenant) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("tenant ", tenant, " holds ", u.jobs,
                       " jobs, the limit (finished ones count until ", "retention removes them)"));
    } else if (u.stored + stored > options_.max_stored_bytes_per_tenant) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("tenant ", tenant, " stores ", u.stored, " bytes; this job's ", stored,
                       " more would pass the quota of ", options_.max_stored_bytes_per_tenant));
    }
    if (!refused.ok()) {
      lock.unlock();
      if (metrics_ != nullptr) metrics_->ResourceRefusal("tenant_quota");
      return done(refused, false);
    }
    if (!machine.ok()) {
      lock.unlock();
      if (metrics_ != nullptr) metrics_->ResourceRefusal(short_of);
      return done(machine, false);
    }
    e = std::make_shared<Entry>();
    JobRecord& r = e->rec;
    r.id = NewJobId();
    r.tenant = tenant;
    r.request_id = rid;
    r.content_hash = prepared->content_hash;
    r.state = v1::QUEUED;
    r.workload = prepared->workload;
    r.priority = request.priority();
    r.created_ms = NowMs();
    r.queued_ms = r.created_ms;
    r.deadline_ms = request.deadline_ms() ? r.created_ms + int64_t(request.deadline_ms()) : 0;
    r.estimated_bytes = estimate;
    r.request_bytes = request_bytes.size();
    // The trace's bytes count before it is written: concurrent submits see them.
    r.input_bytes = trace.size();
    r.trace_id = trace_id;
    e->id = r.id;
    e->trace_id = r.trace_id;
    CountLocked(r, +1);
    jobs_[r.id] = e;
    if (!rid.empty()) by_request_[{tenant, rid}] = r.id;
  }
  const std::string request_id = request.request_id(), content_hash = prepared->content_hash;
  prepared = absl::CancelledError("released");  // the AIR and the request copy

  // Undoes the reservation of a job that never became durable.
  auto abandon = [this, e](const absl::Status& why) {
    std::vector<SubmitDone> waiters;
    bool had_input;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiters.swap(e->on_durable);
      had_input = !e->rec.input_sha256.empty();
      ForgetLocked(e);
    }
    // UNAVAILABLE: the row may have been committed after all (a connection lost at COMMIT);
    // its input stays (a retry adopts the row; start-up removes the file if no row names it).
    if (had_input && why.code() != absl::StatusCode::kUnavailable) {
      artifacts_->Remove(ArtifactKind::kInput, e->id).IgnoreError();
    }
    return waiters;
  };

  // The trace first: a row is committed only when its input is on disk.
  if (!trace.empty()) {
    auto info = artifacts_->Write(ArtifactKind::kInput, e->rec.id, trace);
    trace.clear();
    trace.shrink_to_fit();
    if (!info.ok()) {
      JobLog(LogLevel::kError, "cannot store a trace", e->id, e->trace_id,
             {{"error", std::string(info.status().message())}});
      const absl::Status s = absl::UnavailableError("cannot store the trace; try again later");
      auto waiters = abandon(s);
      done(s, false);
      for (auto& w : waiters) w(s, false);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    JobRecord stored_input = e->rec;
    stored_input.input_sha256 = info->sha256;
    stored_input.input_bytes = info->bytes;  // reserved above (the trace's size)
    ApplyLocked(e, std::move(stored_input));
  }

  JobRecord row;
  {
    std::lock_guard<std::mutex> lock(mu_);
    row = e->rec;
  }
  row.request = std::move(request_bytes);
  store_->Put(row, [this, e, tenant, request_id, content_hash, abandon,
                    done = std::move(done)](absl::Status s) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !request_id.empty()) {
      // The database has another job with this request id that this process does not know:
      // a submission whose commit was reported lost but happened (the connection dropped
      // at COMMIT). It is the job the client asked for: adopted, answered as a duplicate.
      auto prior = store_->FindByRequest(tenant, request_id);
      if (prior.ok()) {
        auto waiters = abandon(s);
        const bool same = prior->content_hash == content_hash;
        const std::string prior_id = prior->id;
        absl::StatusOr<v1::Job> answer;
        {
          // Adopted either way: the row is a job of this tenant, to be seen and run.
          std::lock_guard<std::mutex> lock(mu_);
          auto it = jobs_.find(prior_id);
          EntryPtr p = it != jobs_.end() ? it->second : AdoptLocked(*std::move(prior));
          answer = ToProto(p->rec);
        }
        if (!same) {
          answer = absl::AlreadyExistsError(absl::StrCat("request_id: '", request_id,
                                                         "' was used for a different request (job ",
                                                         prior_id, ")"));
        }
        done(answer, answer.ok());
        for (auto& w : waiters) w(answer, answer.ok());
        return;
      }
    }
    if (!s.ok()) {
      JobLog(LogLevel::kError, "cannot store a job", e->id, e->trace_id,
             {{"error", std::string(s.message())}});
      const absl::Status err = absl::UnavailableError("cannot store the job; try again later");
      auto waiters = abandon(err);
      done(err, false);
      for (auto& w : waiters) w(err, false);
      return;
    }
    std::vector<SubmitDone> waiters;
    v1::Job job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiters.swap(e->on_durable);
      e->durable = true;
      e->version = 0;
      PublishLocked(e);
      {
        std::lock_guard<std::mutex> index(index_mu_);
        by_tenant_[tenant][{e->rec.created_ms, e->rec.id}] = e;
      }
      job = ToProto(e->rec);
      QueueLocked(e->rec);
    }
    if (metrics_ != nullptr) metrics_->JobSubmitted(job.workload());
    JobLog(LogLevel::kInfo, "job queued", e->id, e->trace_id,
           {{"tenant", tenant}, {"workload", job.workload()}});
    done(job, false);
    for (auto& w : waiters) w(job, true);
  });
}

void JobManager::ForgetLocked(const EntryPtr& e) {
  const JobRecord& r = e->rec;
  CountLocked(r, -1);
  if (!r.request_id.empty()) {
    auto it = by_request_.find({r.tenant, r.request_id});
    if (it != by_request_.end() && it->second == r.id) by_request_.erase(it);
  }
  {
    std::lock_guard<std::mutex> index(index_mu_);
    auto t = by_tenant_.find(r.tenant);
    if (t != by_tenant_.end()) {
      t->second.erase({r.created_ms, r.id});
      if (t->second.empty()) by_tenant_.erase(t);
    }
  }
  jobs_.erase(r.id);
}

void JobManager::ReadThrough(const std::string& id, bool unless_succeeded) {
  // Only what could be a job id costs a read (NewJobId: 'j' and 32 hex digits); the
  // caller's rate limit bounds the rest.
  const bool job_id =
      id.size() == 33 && id[0] == 'j' && std::all_of(id.begin() + 1, id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
  if (!options_.cluster || !job_id) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it != jobs_.end() && (!unless_succeeded || it->second->rec.state == v1::SUCCEEDED)) return;
  }
  auto rows = store_->LoadJobs({id});
  if (!rows.ok() || rows->empty()) return;
  RequestReload({id});  // the mirror applies it, under its rules about this node's writes
  // Until then, a job this node did not know is adopted here (nothing local to protect).
  std::vector<EntryPtr> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      ReconcileLocked(rows->front(), &changed);
    } else if (unless_succeeded && rows->front().state == v1::SUCCEEDED &&
               it->second->writes_in_flight == 0 && it->second->local_attempt == 0 &&
               it->second->rec.state != v1::SUCCEEDED) {
      ReconcileLocked(rows->front(), &changed);
    }
  }
  for (const EntryPtr& e : changed) Notify(e);
}

absl::StatusOr<v1::Job> JobManager::Get(const std::string& tenant, const std::string& id) {
  ReadThrough(id);
  std::lock_guard<std::mutex> lock(mu_);
  EntryPtr e = FindLocked(tenant, id);
  if (!e) return absl::NotFoundError(absl::StrCat("job_id: no job '", id, "'"));
  return ToProto(e->rec);
}

bool JobManager::Allowed(v1::JobState from, v1::JobState to) {
  const bool final = to == v1::SUCCEEDED || to == v1::FAILED || to == v1::CANCELLED;
  switch (from) {
    case v1::QUEUED:
      return to == v1::RUNNING || final;
    case v1::RUNNING:
      return to == v1::QUEUED || final;
    case v1::SUCCEEDED:
    case v1::FAILED:
    case v1::CANCELLED:
      return false;
    default:  // a row of a state this binary does not know
      return to == v1::FAILED;
  }
}

JobRecord JobManager::Next(const JobRecord& cur, const Move& m, int64_t now) {
  JobRecord r = cur;
  r.state = m.to;
  r.stage.clear();
  if (m.to != v1::RUNNING) {  // a lease covers a RUNNING job only
    r.lease_node.clear();
    r.lease_expires_ms = 0;
  }
  if (m.to == v1::QUEUED) {
    r.progress = 0;
    if (m.to_back) r.queued_ms = now;
  } else if (m.to == v1::RUNNING) {
    ++r.attempts;
    r.started_ms = now;
    r.stage = "starting";
    r.progress = 0;
  } else {
    r.cause = m.to == v1::FAILED ? m.cause : v1::FAILURE_CAUSE_UNSPECIFIED;
    // Errors may quote rows, constraints and paths: bounded in rows, logs and every Job.
    r.error = Excerpt(m.error, kMaxErrorBytes);
    r.finished_ms = now;
    // The input is not needed any more: the row stops naming it (the file goes after the
    // commit; a crash in between leaves an orphan that start-up removes).
    r.input_sha256.clear();
    r.input_bytes = 0;
  }
  return r;
}

void JobManager::CountLocked(const JobRecord& r, int sign) {
  TenantUsage& u = usage_[r.tenant];
  u.queued += sign * (r.state == v1::QUEUED ? 1 : 0);
  u.jobs += sign;
  u.stored += uint64_t(int64_t(sign) * int64_t(r.stored_bytes()));
  if (u.jobs == 0) usage_.erase(r.tenant);
}

void JobManager::ApplyLocked(const EntryPtr& e, JobRecord next) {
  CountLocked(e->rec, -1);
  e->rec = std::move(next);
  CountLocked(e->rec, +1);
  PublishLocked(e);
}

bool JobManager::TransitionLocked(const EntryPtr& e, Move m, JobDone done) {
  const JobRecord& cur = e->rec;
  if (!Allowed(cur.state, m.to)) {
    JobLog(LogLevel::kError, "refused a state change the state machine does not have", cur,
           {{"from", JobStateName(cur.state)}, {"to", JobStateName(m.to)}});
    return false;
  }
  if (options_.cluster) {
    // What this node may change: a job it holds (fenced by the attempt), or a queued one
    // (only while it is still queued). Another node's running job is its holder's.
    if (cur.state == v1::RUNNING && cur.lease_node == node_id_) {
      e->guard = Guard{Guard::kFenced, JobStore::Fence{node_id_, cur.attempts}};
      e->before_guarded = cur;
      claims_.erase(cur.id);  // leaving RUNNING: the claim ends with this write
    } else if (cur.state == v1::QUEUED) {
      e->guard = Guard{Guard::kIfQueued, {}};
      e->before_guarded = cur;
    } else if (cur.state == v1::RUNNING) {
      JobLog(LogLevel::kError, "refused to change a job another node holds", cur,
             {{"to", JobStateName(m.to)}, {"holder", cur.lease_node}});
      return false;
    } else {
      e->guard = Guard{};
    }
  }
  const bool had_input = !cur.input_sha256.empty();
  ApplyLocked(e, Next(cur, m, NowMs()));
  const JobRecord& r = e->rec;
  if (r.final()) {
    if (metrics_ != nullptr) {
      metrics_->JobFinished(JobStateName(r.state), FailureCauseName(r.cause), r.workload,
                            r.engine.empty() ? "none" : r.engine);
    }
    JobLog(r.state == v1::FAILED && r.cause == v1::INTERNAL ? LogLevel::kError : LogLevel::kInfo,
           "job finished", r,
           {{"state", JobStateName(r.state)},
            {"cause", FailureCauseName(r.cause)},
            {"error", Excerpt(r.error, 512)}});
  } else if (r.state == v1::QUEUED) {
    JobLog(LogLevel::kInfo, "job requeued", r, {{"why", m.why}});
  }
  const std::string id = r.id;
  const bool remove_input = had_input && r.final();
  Persist(e, /*notify_after_commit=*/true,
          [this, id, remove_input, done = std::move(done)](absl::StatusOr<v1::Job> job) {
            if (remove_input && job.ok()) {
              artifacts_->Remove(ArtifactKind::kInput, id).IgnoreError();
            }
            if (done) done(std::move(job));
          });
  return true;
}

bool JobManager::CurrentLocked(const EntryPtr& e, uint32_t attempt, const char* what) {
  if (e->rec.state == v1::RUNNING && e->rec.attempts == attempt) return true;
  if (metrics_ != nullptr) metrics_->FencedWrite();
  JobLog(LogLevel::kWarning, "discarded the write of a superseded attempt", e->rec,
         {{"attempt", std::to_string(attempt)}, {"write", what}});
  return false;
}

void JobManager::StopLocked(const EntryPtr& e, StopReason reason) {
  // A cancel wins over a deadline, both over a drain (which would requeue the job).
  if (e->stop_reason == StopReason::kNone || reason == StopReason::kCancel ||
      (reason == StopReason::kDeadline && e->stop_reason == StopReason::kDrain)) {
    e->stop_reason = reason;
  }
  e->stop.request_stop();
}

void JobManager::Cancel(const std::string& tenant, const std::string& id, JobDone done) {
  ReadThrough(id);
  std::unique_lock<std::mutex> lock(mu_);
  EntryPtr e = FindLocked(tenant, id);
  if (!e) {
    lock.unlock();
    return done(absl::NotFoundError(absl::StrCat("job_id: no job '", id, "'")));
  }
  if (e->rec.final()) {
    v1::Job job = ToProto(e->rec);
    lock.unlock();
    return done(job);
  }
  if (options_.cluster) {
    // The holder settles a running job: it hears of the cancel through the database (or
    // here, when it is this node) and stops at its next check.
    auto ask_holder = [this, tenant, id, done]() {
      store_->RequestCancel(id, [this, tenant, id, done](absl::Status s) {
        if (!s.ok() && s.code() != absl::StatusCode::kFailedPrecondition) {
          return done(absl::UnavailableError("cannot store the cancel yet; try again"));
        }
        // FAILED_PRECONDITION: it became final meanwhile; the answer is its state either way.
        RequestReload({id});
        if (auto rows = store_->LoadJobs({id}); rows.ok() && !rows->empty()) {
          return done(ToProto(rows->front()));  // as the database has it now
        }
        std::lock_guard<std::mutex> lock(mu_);
        EntryPtr e = FindLocked(tenant, id);
        if (!e) return done(absl::NotFoundError(absl::StrCat("job_id: no job '", id, "'")));
        done(ToProto(e->rec));
      });
    };
    if (e->rec.state == v1::QUEUED) {
      // Settled here while it is still queued; claimed meanwhile, its holder settles it.
      TransitionLocked(e, Move::Cancelled(), [ask_holder, done](absl::StatusOr<v1::Job> job) {
        if (job.status().code() == absl::StatusCode::kFailedPrecondition) return ask_holder();
        done(std::move(job));
      });
      return;
    }
    if (e->local_attempt != 0) {
      JobRecord next = e->rec;
      next.cancel_requested = true;
      ApplyLocked(e, std::move(next));
      StopLocked(e, StopReason::kCancel);
    }
    lock.unlock();
    ask_holder();
    return;
  }
  if (e->rec.state == v1::QUEUED && scheduler_->Remove(id)) {
    TransitionLocked(e, Move::Cancelled(), std::move(done));
    return;
  }
  // Running, or handed to a worker that has not started it: durable first, then stop.
  e->rec.cancel_requested = true;
  StopLocked(e, StopReason::kCancel);
  PublishLocked(e);
  Persist(e, /*notify_after_commit=*/false, std::move(done));
}

absl::StatusOr<v1::ListJobsResponse> JobManager::List(const std::string& tenant,
                                                      const v1::ListJobsRequest& req) const {
  if (req.page_size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", req.page_size(), " is more than 1000"));
  }
  if (req.workload().size() > 64) {
    return absl::InvalidArgumentError("workload: at most 64 characters");
  }
  if (req.states_size() > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("states: ", req.states_size(), " entries; at most 16"));
  }
  // The filter as a set of states: duplicates cost nothing.
  uint32_t states = 0;
  for (int i = 0; i < req.states_size(); ++i) {
    if (!v1::JobState_IsValid(req.states(i)) || req.states(i) == v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("states[", i, "]: not a job state"));
    }
    states |= 1u << req.states(i);
  }
  // The token is the (created_ms, id) of the last job looked at.
  std::pair<int64_t, std::string> after{INT64_MAX, ""};
  bool has_after = false;
  if (!req.page_token().empty()) {
    const std::string& t = req.page_token();
    const size_t dot = t.find('.');
    int64_t ms = 0;
    bool ok =
        t.size() <= 128 && dot != std::string::npos && dot > 0 && dot < 19 && dot + 1 < t.size();
    for (size_t i = 0; ok && i < dot; ++i) {
      ok = t[i] >= '0' && t[i] <= '9';
      ms = ms * 10 + (t[i] - '0');
    }
    if (!ok) return absl::InvalidArgumentError("page_token: malformed");
    after = {ms, t.substr(dot + 1)};
    has_after = true;
  }
  const uint32_t page = req.page_size() == 0 ? 50 : req.page_size();
  v1::ListJobsResponse out;
  // Under the index's lock only the pointers of the jobs to look at are copied (at most
  // max_list_scan); their views are read and filtered after it is released. The job table's
  // lock is never taken.
  std::vector<std::pair<std::pair<int64_t, std::string>, EntryPtr>> candidates;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    auto t = by_tenant_.find(tenant);
    if (t == by_tenant_.end()) return out;
    const auto& index = t->second;
    auto it = has_after ? std::make_reverse_iterator(index.lower_bound(after)) : index.rbegin();
    for (; it != index.rend() && candidates.size() < options_.max_list_scan; ++it) {
      candidates.emplace_back(it->first, it->second);
    }
    more = it != index.rend();
  }
  size_t looked = 0;
  for (; looked < candidates.size() && uint32_t(out.jobs_size()) < page; ++looked) {
    const std::shared_ptr<const v1::Job> job = candidates[looked].second->view.load();
    if (!job) continue;
    if (!req.workload().empty() && job->workload() != req.workload()) continue;
    if (states != 0 && (states & (1u << job->state())) == 0) continue;
    *out.add_jobs() = *job;
  }
  if (looked > 0 && (looked < candidates.size() || more)) {
    // More may follow: continue after the last job looked at.
    const auto& last = candidates[looked - 1].first;
    out.set_next_page_token(absl::StrCat(last.first, ".", last.second));
  }
  return out;
}

absl::StatusOr<JobManager::ProofSource> JobManager::OpenProof(const std::string& tenant,
                                                              const std::string& id) {
  ArtifactInfo info;
  ProofSource source;
  ReadThrough(id, /*unless_succeeded=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EntryPtr e = FindLocked(tenant, id);
    if (!e) return absl::NotFoundError(absl::StrCat("job_id: no job '", id, "'"));
    if (e->rec.state != v1::SUCCEEDED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job_id: job '", id, "' is ", JobStateName(e->rec.state), ", not SUCCEEDED"));
    }
    info = {e->rec.proof_sha256, e->rec.proof_bytes};
    source.sha256 = e->rec.proof_sha256;
  }
  auto reader = artifacts_->OpenReader(ArtifactKind::kProof, id, info);
  if (!reader.ok()) {
    if (reader.status().code() == absl::StatusCode::kDataLoss) {
      ReportCorruptProof(id, std::string(reader.status().message()));
      return absl::DataLossError(
          absl::StrCat("job '", id, "': the stored proof is damaged or missing; it is not served"));
    }
    return reader.status();
  }
  source.reader = *std::move(reader);
  return source;
}

void JobManager::ReportCorruptProof(const std::string& id, const std::string& detail) {
  if (metrics_ != nullptr) metrics_->ArtifactCorruption();
  Log(LogLevel::kError, "stored proof is corrupted; not serving it",
      {{"job_id", id}, {"error", detail}});
}

absl::StatusOr<uint64_t> JobManager::Subscribe(const std::string& tenant, const std::string& id,
                                               Watcher watcher) {
  EntryPtr e;
  uint64_t token;
  bool uncommitted_final;
  ReadThrough(id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = FindLocked(tenant, id);
    if (!e) return absl::NotFoundError(absl::StrCat("job_id: no job '", id, "'"));
    token = next_token_++;
    e->watchers[token] = std::move(watcher);
    // A final state not yet in the database is announced by its commit, not before.
    uncommitted_final = e->rec.final() && (e->writes_in_flight > 0 || e->unsaved);
  }
  if (!uncommitted_final) Notify(e);  // the current state first
  return token;
}

void JobManager::Unsubscribe(const std::string& id, uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second->watchers.erase(token);
}

std::optional<RunOutcome> JobManager::SettleBeforeStartLocked(const EntryPtr& e,
                                                              const absl::Status& machine) {
  const JobRecord& r = e->rec;
  if (r.cancel_requested) {
    TransitionLocked(e, Move::Cancelled());
    return RunOutcome::kDone;
  }
  if (r.deadline_ms != 0 && NowMs() >= r.deadline_ms) {
    TransitionLocked(e, Move::Finish(v1::FAILED, v1::DEADLINE_EXCEEDED,
                                     "the deadline passed before it started"));
    return RunOutcome::kDone;
  }
  if (!machine.ok()) {
    if (metrics_ != nullptr) metrics_->JobRetried("resources");
    JobLog(LogLevel::kWarning, "job waits for resources", r,
           {{"error", std::string(machine.message())}});
    if (!options_.cluster) return RunOutcome::kRetryLater;  // here, unchanged, after a delay
    // Cluster mode: back in the cluster's queue (this node claims nothing while short).
    TransitionLocked(e, Move::Requeue("resources"));
    return RunOutcome::kDone;
  }
  return std::nullopt;
}

RunOutcome JobManager::Run(const QueuedJob& queued, Engine& engine) {
  EntryPtr e;
  ArtifactInfo input;
  std::string workload;
  std::stop_token stop;
  uint32_t attempt = 0;  // this Run's attempt: its writes are fenced by it
  bool was_unsaved = false;
  // The proof will need room on disk and descriptors: while the machine is short of them the
  // job waits in the queue, unchanged, instead of proving and then failing to store.
  const char* short_of = nullptr;
  const absl::Status machine =
      CheckMachineResources(options_.request_limits.max_proof_bytes, &short_of);
  if (options_.cluster) {
    // The claim committed the RUNNING row already (ClaimLoop): only a job this node claimed
    // and no Run of it holds runs here.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(queued.id);
    if (it == jobs_.end()) return RunOutcome::kDone;
    e = it->second;
    const JobRecord& r = e->rec;
    if (r.state != v1::RUNNING || r.lease_node != node_id_ || e->local_attempt == r.attempts) {
      return RunOutcome::kDone;  // not this node's claim, or a Run of it holds it already
    }
    if (r.crashes >= options_.max_crashes) {
      // Nodes died (their leases expired) while running it: it is not run again.
      TransitionLocked(e, Move::Finish(v1::FAILED, v1::QUARANTINED,
                                       absl::StrCat("nodes died ", r.crashes,
                                                    " times while proving this job; it is not "
                                                    "run again")));
      return RunOutcome::kDone;
    }
    if (draining_) {  // back to the cluster's queue: another node runs it
      TransitionLocked(e, Move::Requeue("drain"));
      return RunOutcome::kDone;
    }
    if (auto settled = SettleBeforeStartLocked(e, machine)) return *settled;
    JobRecord next = r;
    next.engine = engine.info().name;
    next.stage = "starting";
    next.progress = 0;
    ApplyLocked(e, std::move(next));
    e->stop = std::stop_source();
    e->stop_reason = StopReason::kNone;
    e->progress_ms = NowMs();
    e->local_attempt = e->rec.attempts;
    stop = e->stop.get_token();
    attempt = e->rec.attempts;
    input = {e->rec.input_sha256, e->rec.input_bytes};
    workload = e->rec.workload;
    if (metrics_ != nullptr) {
      metrics_->QueueWait(workload, double(e->rec.started_ms - e->rec.queued_ms) / 1e3);
    }
  } else {
    std::promise<absl::Status> running_committed;
    JobRecord running;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = jobs_.find(queued.id);
      if (it == jobs_.end() || it->second->rec.state != v1::QUEUED) return RunOutcome::kDone;
      // Stopping: the job stays QUEUED (durably) for the next start.
      if (draining_) return RunOutcome::kDone;
      e = it->second;
      JobRecord& r = e->rec;
      if (auto settled = SettleBeforeStartLocked(e, machine)) return *settled;
      // The RUNNING row goes to the store first; the job becomes RUNNING, for clients too,
      // only once it is committed (below).
      running = Next(r, Move::Start(), NowMs());
      running.engine = engine.info().name;
      // This row carries everything newer than a write that failed: it stands for it (a
      // rewrite of the QUEUED record after it would undo the start). Owed again if it fails.
      was_unsaved = e->unsaved;
      e->unsaved = false;
      store_->Put(running,
                  [&running_committed](absl::Status s) { running_committed.set_value(s); });
    }
    // Committed before any of the job's work starts: a job that kills the process, however
    // fast, is counted at the next start (quarantine), never taken for a job that did not run.
    if (const absl::Status s = running_committed.get_future().get(); !s.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        e->unsaved = e->unsaved || was_unsaved;
      }
      JobLog(LogLevel::kWarning, "job waits for the store", e->id, e->trace_id,
             {{"error", std::string(s.message())}});
      return RunOutcome::kRetryLater;  // still QUEUED here
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The committed row's fields; a cancel that arrived meanwhile is kept.
      JobRecord next = running;
      next.cancel_requested = e->rec.cancel_requested;
      ApplyLocked(e, std::move(next));
      JobRecord& r = e->rec;
      if (r.cancel_requested) {  // cancelled while the row was being committed
        TransitionLocked(e, Move::Cancelled());
        return RunOutcome::kDone;
      }
      e->stop = std::stop_source();
      e->stop_reason = StopReason::kNone;
      e->progress_ms = NowMs();
      stop = e->stop.get_token();
      attempt = r.attempts;
      input = {r.input_sha256, r.input_bytes};
      workload = r.workload;
      if (metrics_ != nullptr)
        metrics_->QueueWait(workload, double(r.started_ms - r.queued_ms) / 1e3);
    }
  }
  // Cluster mode: this Run holds the job until it returns (a later attempt's Run may hold it
  // after the watchdog gave this one up).
  struct LocalRunEnd {
    JobManager* m;
    EntryPtr e;
    uint32_t attempt;
    ~LocalRunEnd() {
      std::lock_guard<std::mutex> lock(m->mu_);
      if (e->local_attempt == attempt) e->local_attempt = 0;
    }
  } local_run_end{this, e, attempt};
  Notify(e);
  if (metrics_ != nullptr && engine.info().kind == EngineKind::kCpu && !queued.cpu_only) {
    for (const Engine* other : scheduler_->engines()) {
      if (other->info().kind != EngineKind::kCpu) {
        metrics_->EngineFallback("no_gpu_fits");
        break;
      }
    }
  }
  JobLog(LogLevel::kInfo, "job started", e->id, e->trace_id, {{"engine", engine.info().name}});

  auto fail = [&](v1::FailureCause cause, std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (CurrentLocked(e, attempt, "failure")) {
      TransitionLocked(e, Move::Finish(v1::FAILED, cause, std::move(error)));
    }
    return RunOutcome::kDone;
  };
  // The machine is short of disk, descriptors or memory for files: not the job's fault.
  auto retry_later = [&](const absl::Status& why) {
    if (metrics_ != nullptr) metrics_->JobRetried("resources");
    JobLog(LogLevel::kWarning, "job waits for resources", e->id, e->trace_id,
           {{"error", std::string(why.message())}});
    std::lock_guard<std::mutex> lock(mu_);
    if (!CurrentLocked(e, attempt, "requeue")) return RunOutcome::kDone;
    TransitionLocked(e, Move::Requeue("resources"));
    // Cluster mode: back in the cluster's queue (the claimer claims nothing while this
    // machine is short); one mode: retried here after a delay.
    return options_.cluster ? RunOutcome::kDone : RunOutcome::kRetryLater;
  };

  v1::SubmitProofRequest request;
  {
    auto stored = store_->LoadRequest(queued.id);
    if (!stored.ok()) {
      if (stored.status().code() == absl::StatusCode::kNotFound) {
        return fail(v1::INTERNAL, "the stored request is missing");
      }
      if (stored.status().code() == absl::StatusCode::kUnavailable) {
        return retry_later(stored.status());
      }
      return fail(v1::INTERNAL,
                  absl::StrCat("the stored request cannot be read: ", stored.status().message()));
    }
    if (!request.ParseFromString(*stored)) {
      return fail(v1::INTERNAL, "the stored request does not parse");
    }
  }
  std::string trace;
  if (!input.sha256.empty()) {
    auto bytes = artifacts_->Read(ArtifactKind::kInput, queued.id, input);
    if (!bytes.ok()) {
      if (bytes.status().code() == absl::StatusCode::kUnavailable) {
        return retry_later(bytes.status());
      }
      if (bytes.status().code() == absl::StatusCode::kDataLoss && metrics_ != nullptr) {
        metrics_->ArtifactCorruption();
      }
      return fail(v1::INTERNAL,
                  absl::StrCat("the stored trace cannot be used: ", bytes.status().message()));
    }
    trace = *std::move(bytes);
  }
  auto instance = LoadStatement(request, trace);
  trace.clear();
  trace.shrink_to_fit();
  if (!instance.ok()) return fail(v1::INVALID_INPUT, std::string(instance.status().message()));

  stark::ProveOptions options;
  {
    std::vector<int> log_rows;
    for (const air::TableTrace& t : instance->trace.tables) log_rows.push_back(t.log_rows());
    auto params = ParamsOf(request.options(), instance->air, log_rows);
    if (!params.ok()) return fail(v1::INVALID_INPUT, std::string(params.status().message()));
    options.params = *params;
  }
  options.min_security_bits = options_.request_limits.min_security_bits;
  options.min_proven_security_bits = options_.request_limits.min_proven_security_bits;
  options.stop = stop;
  const int stages = int(stark::Stage::kCount);
  options.on_stage = [&](stark::Stage stage) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!CurrentLocked(e, attempt, "progress")) return false;
      if (e->rec.deadline_ms != 0 && NowMs() >= e->rec.deadline_ms) {
        StopLocked(e, StopReason::kDeadline);
      }
      if (stop.stop_requested()) return false;
      e->rec.stage = std::string(stark::StageName(stage));
      e->rec.progress = double(int(stage)) / stages;
      e->progress_ms = NowMs();
      PublishLocked(e);
    }
    Notify(e);
    return true;
  };

  absl::StatusOr<stark::ProveResult> result = absl::InternalError("not run");
  try {
    result = stark::Prove(engine.backend(), instance->air, instance->trace, instance->public_inputs,
                          options);
  } catch (const std::bad_alloc&) {
    result = absl::ResourceExhaustedError("out of memory while proving");
  }
  instance = absl::CancelledError("released");

  if (!result.ok() && stop.stop_requested()) {
    std::lock_guard<std::mutex> lock(mu_);
    // Stopped by the watchdog: the job already went on without this attempt.
    if (!CurrentLocked(e, attempt, "stop")) return RunOutcome::kDone;
    switch (e->stop_reason) {
      case StopReason::kLost:
        // Normally another node's now (CurrentLocked said so above); if the record still
        // says it is this attempt's, it goes back to the queue rather than sit RUNNING.
        TransitionLocked(e, Move::Requeue("lost"));
        return RunOutcome::kDone;
      case StopReason::kDrain:
        // Back to the queue, durably; the next start of the service runs it.
        TransitionLocked(e, Move::Requeue("drain"));
        break;
      case StopReason::kDeadline:
        TransitionLocked(e, Move::Finish(v1::FAILED, v1::DEADLINE_EXCEEDED,
                                         "the deadline passed while proving"));
        break;
      default:
        TransitionLocked(e, Move::Cancelled());
    }
    return RunOutcome::kDone;
  }
  if (!result.ok()) {
    const absl::Status& s = result.status();
    std::string message(s.message());
    // The kind the engine gave the failure decides: what the job's cause is, and whether
    // the CPU engine reruns a job a GPU failed.
    const bool gpu = engine.info().kind != EngineKind::kCpu;
    switch (ClassifyFailure(s)) {
      case FailureKind::kInvalidInput:
        return fail(v1::INVALID_INPUT, message);
      case FailureKind::kConstraintsUnsatisfied:
        return fail(v1::CONSTRAINTS_UNSATISFIED, message);
      case FailureKind::kUnprovable:
        // Every engine draws the same challenges from the statement and the options, so no
        // rerun helps; other options draw others.
        return fail(v1::INVALID_INPUT,
                    absl::StrCat(message,
                                 "; other options (another number of queries, say) "
                                 "draw other challenges"));
      case FailureKind::kResources:
        if (!gpu) return fail(v1::OUT_OF_MEMORY, message);
        break;
      case FailureKind::kDeviceLost:
        if (!gpu) return fail(v1::INTERNAL, message);
        // The GPU can run nothing more in this process: it takes no more jobs, visibly
        // (GetServerInfo, prover_engine_in_service); this job reruns on the CPU.
        if (scheduler_->TakeOutOfService(&engine, message)) {
          JobLog(LogLevel::kError, "engine out of service", e->id, e->trace_id,
                 {{"engine", engine.info().name}, {"error", message}});
        }
        break;
      case FailureKind::kDeviceFault:
      case FailureKind::kBug:
        if (!gpu) return fail(v1::INTERNAL, message);
        break;
    }
    // A GPU failed: the CPU engine reruns the job, visibly.
    if (metrics_ != nullptr) metrics_->EngineFallback("gpu_error");
    JobLog(LogLevel::kWarning, "engine failed; rerunning on the CPU", e->id, e->trace_id,
           {{"engine", engine.info().name},
            {"error", message},
            {"kind", std::string(FailureKindName(ClassifyFailure(s)))}});
    std::lock_guard<std::mutex> lock(mu_);
    if (!CurrentLocked(e, attempt, "requeue")) return RunOutcome::kDone;
    // Cluster mode: still this node's claim; its CPU engine reruns it under that lease,
    // or, when that engine could never hold it, the cluster's queue takes it back.
    if (options_.cluster && scheduler_->Fits(queued.estimated_bytes, /*cpu_only=*/true)) {
      return RunOutcome::kRetryOnCpu;
    }
    TransitionLocked(e, Move::Requeue("gpu_error"));
    return options_.cluster ? RunOutcome::kDone : RunOutcome::kRetryOnCpu;
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!CurrentLocked(e, attempt, "proof")) return RunOutcome::kDone;
  }
  // Should the attempt be superseded while it writes, the file is the same bytes the
  // current attempt writes (proofs are deterministic), renamed into place atomically.
  std::vector<uint8_t> bytes = stark::EncodeProof(result->proof);
  auto info = artifacts_->Write(
      ArtifactKind::kProof, queued.id,
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!info.ok()) {
    if (info.status().code() == absl::StatusCode::kUnavailable) return retry_later(info.status());
    return fail(v1::INTERNAL, std::string(info.status().message()));
  }
  double seconds = 0;
  for (const auto& t : result->timings) seconds += t.seconds;
  if (metrics_ != nullptr) {
    for (const auto& t : result->timings) {
      metrics_->StageDuration(std::string(stark::StageName(t.stage)), workload, engine.info().name,
                              t.seconds);
    }
    metrics_->JobDuration(workload, engine.info().name, seconds);
    metrics_->ProofSize(workload, bytes.size());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!CurrentLocked(e, attempt, "result")) {
    // Superseded while writing: a job that ended without a proof must not keep this one.
    if (e->rec.final() && e->rec.state != v1::SUCCEEDED) {
      artifacts_->Remove(ArtifactKind::kProof, queued.id).IgnoreError();
    }
    return RunOutcome::kDone;
  }
  JobRecord proved = e->rec;
  proved.proof_bytes = info->bytes;
  proved.proof_sha256 = info->sha256;
  proved.prove_seconds = seconds;
  proved.security_bits = result->proof.security_bits;
  proved.proven_security_bits = result->proof.proven_security_bits;
  proved.progress = 1;
  ApplyLocked(e, std::move(proved));
  TransitionLocked(e, Move::Finish(v1::SUCCEEDED));
  return RunOutcome::kDone;
}

void JobManager::WatchdogLocked(const EntryPtr& e, int64_t now) {
  const JobRecord& r = e->rec;
  const double idle_s = double(now - e->progress_ms) / 1e3;
  JobLog(LogLevel::kWarning, "job stuck", r,
         {{"stage", r.stage},
          {"attempt", std::to_string(r.attempts)},
          {"idle_seconds", absl::StrFormat("%.1f", idle_s)}});
  // The attempt is asked to stop; whatever it still writes is fenced off by its number.
  StopLocked(e, StopReason::kStuck);
  e->progress_ms = 0;
  e->local_attempt = 0;  // cluster mode: a later claim of the job runs without it
  if (r.cancel_requested) {
    TransitionLocked(e, Move::Cancelled());
  } else if (r.deadline_ms != 0 && now >= r.deadline_ms) {
    TransitionLocked(e, Move::Finish(v1::FAILED, v1::DEADLINE_EXCEEDED,
                                     "the deadline passed while the job was stuck"));
  } else if (r.attempts >= options_.max_attempts) {
    TransitionLocked(
        e, Move::Finish(v1::FAILED, v1::STALLED,
                        absl::StrFormat("no progress for %.1f s in stage %s of attempt %u (of "
                                        "--max-attempts %u); it is not run again",
                                        idle_s, r.stage, r.attempts, options_.max_attempts)));
  } else {
    if (metrics_ != nullptr) metrics_->JobRetried("stuck");
    TransitionLocked(e, Move::Requeue("stuck"));
    if (!draining_) QueueLocked(e->rec);
  }
}

void JobManager::HousekeepingLoop() {
  std::unique_lock<std::mutex> hk(hk_mu_);
  while (!hk_stop_) {
    hk_cv_.wait_for(hk, std::chrono::milliseconds(options_.housekeeping_interval_ms));
    if (hk_stop_) break;
    hk.unlock();
    const int64_t now = NowMs();
    std::vector<EntryPtr> expired;
    // Cluster mode: what is done once per cluster (queued deadlines, retention) is the
    // housekeeper's; what concerns a running attempt is its node's.
    const bool cluster = options_.cluster;
    const bool housekeeper = !cluster || housekeeper_.load();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, e] : jobs_) {
        JobRecord& r = e->rec;
        if (!e->durable) continue;
        const bool local_attempt = !cluster || e->local_attempt != 0;
        if (e->unsaved && e->writes_in_flight == 0) {  // a write failed: the record, again
          const std::string id = r.id;
          const bool final = r.final();
          Persist(e, false, [this, id, final](absl::StatusOr<v1::Job> job) {
            if (job.ok() && final) artifacts_->Remove(ArtifactKind::kInput, id).IgnoreError();
          });
        }
        if (r.state == v1::QUEUED && r.deadline_ms != 0 && now >= r.deadline_ms &&
            (cluster ? housekeeper && e->writes_in_flight == 0 : scheduler_->Remove(id))) {
          TransitionLocked(e, Move::Finish(v1::FAILED, v1::DEADLINE_EXCEEDED,
                                           "the deadline passed while the job was queued"));
        } else if (r.state == v1::RUNNING && local_attempt && options_.stuck_timeout_ms > 0 &&
                   e->progress_ms != 0 && now - e->progress_ms >= options_.stuck_timeout_ms) {
          // First: an attempt that does not move may not heed a stop either.
          WatchdogLocked(e, now);
        } else if (r.state == v1::RUNNING && local_attempt && r.deadline_ms != 0 &&
                   now >= r.deadline_ms) {
          StopLocked(e, StopReason::kDeadline);  // the engine stops within about a second
        } else if (housekeeper && r.final() && options_.retention_ms >= 0 &&
                   r.finished_ms + options_.retention_ms < now && !e->unsaved &&
                   e->writes_in_flight == 0) {
          expired.push_back(e);
        }
      }
      for (auto& e : expired) ForgetLocked(e);
    }
    // Retries whose delay has passed.
    scheduler_->Poke();
    // Row first, then files: a crash in between leaves orphans that start-up removes.
    for (auto& e : expired) {
      const std::string id = e->rec.id;
      store_->Delete(id, [this, id](absl::Status s) {
        if (!s.ok()) return;
        artifacts_->Remove(ArtifactKind::kInput, id).IgnoreError();
        artifacts_->Remove(ArtifactKind::kProof, id).IgnoreError();
      });
    }
    if (!expired.empty()) {
      Log(LogLevel::kInfo, "retention removed jobs", {{"jobs", std::to_string(expired.size())}});
    }
    hk.lock();
  }
}

void JobManager::Drain(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  scheduler_->Pause();
  if (!scheduler_->WaitIdle(timeout)) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, e] : jobs_) {
      if (e->rec.state == v1::RUNNING) StopLocked(e, StopReason::kDrain);
    }
  }
  scheduler_->Stop();
  ReleaseClaims();
  store_->Flush();
}

void JobManager::ReleaseClaims() {
  if (!options_.cluster) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, e] : jobs_) {
    // Claimed, never started here: back to the cluster's queue at once, not after the lease.
    if (e->rec.state == v1::RUNNING && e->rec.lease_node == node_id_ && e->local_attempt == 0) {
      TransitionLocked(e, Move::Requeue("drain"));
    }
  }
}

void JobManager::SetNodeAddress(const std::string& address) {
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    node_address_ = address;
    beat_now_ = true;  // the nodes table learns the address at once
  }
  beat_cv_.notify_all();
}

void JobManager::WakeClaimer() {
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    claim_wake_ = true;
  }
  claim_cv_.notify_one();
}

void JobManager::RequestReload(std::vector<std::string> ids) {
  if (!options_.cluster) return;
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    for (std::string& id : ids) reload_ids_.push_back(std::move(id));
  }
  mirror_cv_.notify_one();
}

void JobManager::ClaimLoop() {
  int64_t last_error_log = 0;
  bool again = true;  // look at once on start
  while (true) {
    {
      std::unique_lock<std::mutex> lock(cluster_mu_);
      if (!again) {
        // Woken by a change (a job queued anywhere, a slot freed here); the timeout covers a
        // notification lost with the database connection.
        claim_cv_.wait_for(lock, std::chrono::seconds(1),
                           [&] { return claim_stop_ || claim_wake_; });
      }
      if (claim_stop_) return;
      claim_wake_ = false;
    }
    again = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (draining_) continue;
    }
    const char* short_of = nullptr;
    if (!CheckMachineResources(options_.request_limits.max_proof_bytes, &short_of).ok()) continue;
    // The largest job one engine with a free slot can take now; nothing while an earlier
    // claim still waits for its engine.
    const Scheduler::Stats st = scheduler_->stats();
    if (st.queued > 0) continue;
    const uint64_t max_bytes = ClaimableBytes(st);
    if (max_bytes == 0) continue;
    const auto t0 = std::chrono::steady_clock::now();
    auto claimed = store_->Claim(JobStore::ClaimRequest{
        node_id_, NowMs(), options_.lease_ms, max_bytes, options_.max_running_per_tenant});
    if (metrics_ != nullptr) {
      metrics_->ClaimLatency(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (!claimed.ok()) {
      if (claimed.status().code() != absl::StatusCode::kNotFound &&
          NowMs() - last_error_log > 10000) {
        last_error_log = NowMs();
        Log(LogLevel::kWarning, "cannot claim jobs",
            {{"error", std::string(claimed.status().message())}});
      }
      continue;
    }
    again = true;  // there may be more
    JobRecord row = *std::move(claimed);
    EntryPtr e;
    std::vector<EntryPtr> changed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = jobs_.find(row.id);
      if (it == jobs_.end()) {
        e = AdoptLocked(row, /*enqueue=*/false);
      } else {
        e = it->second;
        if (e->local_attempt != 0 && e->local_attempt != row.attempts) {
          // A Run of an earlier attempt (this node was paused past its lease) is superseded.
          StopLocked(e, StopReason::kLost);
          e->local_attempt = 0;
          e->progress_ms = 0;
        }
        row.stage = "claimed";
        ApplyLocked(e, row);
        // The claim is the newest write of the job: nothing older is owed or restorable.
        e->unsaved = e->unsaved_notify = false;
        e->before_guarded.reset();
        e->guard = Guard{};
      }
      claims_[row.id] = row.attempts;
      ++e->writes_started;  // a read the mirror began before the claim is older than it
      JobLog(LogLevel::kInfo, "job claimed", row,
             {{"node", node_id_}, {"attempt", std::to_string(row.attempts)}});
      scheduler_->Enqueue(
          QueuedJob{row.id, row.tenant, row.priority, row.queued_ms, row.estimated_bytes, false});
    }
    Notify(e);
  }
}

void JobManager::HeartbeatLoop() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 4, 25));
  int64_t last_error_log = 0;
  // Since when this node's heartbeats have been succeeding (0: the last one failed). After a
  // database outage every node waits a whole lease of good heartbeats before expiring
  // leases, so that the live nodes renew theirs first: an outage is not a node death.
  int64_t beating_since = 0;
  while (true) {
    const int64_t now = NowMs();
    std::vector<std::string> engines;
    uint64_t memory = 0;
    for (const Scheduler::EngineStats& e : this->engines()) {
      if (!e.out_of_service.empty()) continue;  // a lost GPU serves no more
      const EngineInfo& info = e.info;
      engines.push_back(info.name);
      memory += info.memory_budget_bytes;
    }
    JobStore::NodeRecord node;
    node.id = node_id_;
    {
      std::lock_guard<std::mutex> lock(cluster_mu_);
      node.address = node_address_;
    }
    node.engines = absl::StrJoin(engines, ",");
    node.version = absl::StrCat(BuildVersion(), " (", BuildCommit(), ")");
    node.memory_bytes = memory;
    node.started_ms = started_ms_;
    node.heartbeat_ms = now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      node.draining = draining_;
    }
    absl::Status s = store_->PutNode(node);
    // The leases of the jobs this node holds; a job missing from the answer was taken away.
    auto held = store_->Heartbeat(node_id_, now, options_.lease_ms);
    if (!held.ok()) {
      beating_since = 0;
    } else if (beating_since == 0) {
      beating_since = now;
    }
    if (held.ok()) {
      std::set<std::string> still(held->begin(), held->end());
      std::vector<std::string> lost, orphans;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [id, e] : jobs_) {
          if (e->rec.state == v1::RUNNING && e->rec.lease_node == node_id_ && !still.count(id) &&
              e->writes_in_flight == 0) {
            lost.push_back(id);
          }
        }
        for (const std::string& id : *held) {
          if (claims_.count(id)) continue;
          auto it = jobs_.find(id);
          if (it != jobs_.end() && (it->second->writes_in_flight > 0 || it->second->unsaved)) {
            continue;  // its final write is on the way
          }
          orphans.push_back(id);
        }
      }
      if (!lost.empty()) RequestReload(lost);
      if (!orphans.empty()) RequeueOrphans(orphans, now);
    } else {
      s.Update(held.status());
    }
    // Leases that expired anywhere (a node died or was cut off): back to the queue. Every
    // node does it; the statement is idempotent, and one of them wins each row.
    auto expired = beating_since != 0 && now - beating_since >= options_.lease_ms
                       ? store_->ExpireLeases(now)
                       : absl::StatusOr<std::vector<JobRecord>>(std::vector<JobRecord>{});
    if (expired.ok()) {
      for (const JobRecord& r : *expired) {
        if (metrics_ != nullptr) metrics_->LeaseExpired();
        JobLog(LogLevel::kWarning, "lease expired; job requeued", r,
               {{"holder", "expired"}, {"attempt", std::to_string(r.attempts)}});
      }
    } else {
      s.Update(expired.status());
    }
    // Housekeeping once per cluster: the node that holds the role, another when it dies.
    if (auto hk = store_->HoldHousekeeping(); hk.ok()) {
      if (*hk && !housekeeper_.load()) {
        Log(LogLevel::kInfo, "this node is the cluster's housekeeper", {{"node", node_id_}});
      }
      housekeeper_ = *hk;
      if (*hk) store_->ForgetNodes(now - kForgetNodesAfterMs).IgnoreError();
    } else {
      housekeeper_ = false;
      s.Update(hk.status());
    }
    // The cluster as GetServerInfo shows it, refreshed with every beat (never read on a
    // call's thread).
    if (auto nodes = store_->Nodes(now - 3 * options_.lease_ms); nodes.ok()) {
      std::lock_guard<std::mutex> lock(cluster_mu_);
      nodes_ = *std::move(nodes);
    } else {
      s.Update(nodes.status());
    }
    if (!s.ok() && NowMs() - last_error_log > 10000) {
      last_error_log = NowMs();
      Log(LogLevel::kWarning, "cluster heartbeat failed", {{"error", std::string(s.message())}});
    }
    std::unique_lock<std::mutex> lock(cluster_mu_);
    const bool stopping =
        beat_cv_.wait_for(lock, period, [&] { return cluster_stop_ || beat_now_; });
    beat_now_ = false;
    if (stopping && cluster_stop_) {
      // The last beat: a stopping node's row says so (the nodes table shows it leaving).
      lock.unlock();
      node.heartbeat_ms = NowMs();
      node.draining = true;
      store_->PutNode(node).IgnoreError();
      return;
    }
  }
}

void JobManager::RequeueOrphans(const std::vector<std::string>& ids, int64_t now) {
  auto rows = store_->LoadJobs(ids);
  if (!rows.ok()) return;
  for (JobRecord& r : *rows) {
    // Claimed under this node's id, by no claim of this process: a claim whose answer was
    // lost, or one a dead process with the same --node-id left. A claim younger than a lease
    // may still be on its way to the claimer.
    if (r.state != v1::RUNNING || r.lease_node != node_id_ ||
        now - r.started_ms < options_.lease_ms) {
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (claims_.count(r.id)) continue;
    // This node's view may know better than the row read a moment ago: a result whose write
    // is still being retried (the database was away), or a Run still going.
    if (auto it = jobs_.find(r.id); it != jobs_.end()) {
      const Entry& e = *it->second;
      if (e.rec.final() || e.unsaved || e.writes_in_flight > 0 || e.local_attempt != 0) continue;
    }
    JobRecord requeued = r;
    requeued.state = v1::QUEUED;
    requeued.stage.clear();
    requeued.progress = 0;
    requeued.queued_ms = now;
    ++requeued.crashes;
    const uint32_t attempt = r.attempts;
    JobLog(LogLevel::kWarning, "requeued a claim no process of this node runs", r,
           {{"attempt", std::to_string(attempt)}});
    if (metrics_ != nullptr) metrics_->JobRetried("orphan_claim");
    store_->PutFenced(requeued, JobStore::Fence{node_id_, attempt},
                      [this, id = r.id](absl::Status) { RequestReload({id}); });
  }
}

void JobManager::MirrorLoop() {
  // Rows skipped because this node's own write was in flight are read again shortly (the
  // write's notification may have come, and been skipped, before its commit was answered).
  std::vector<std::string> retry;
  auto retry_delay = std::chrono::milliseconds(10);
  while (true) {
    std::vector<std::string> ids;
    {
      std::unique_lock<std::mutex> lock(cluster_mu_);
      if (retry.empty()) {
        mirror_cv_.wait(lock, [&] { return cluster_stop_ || !reload_ids_.empty(); });
      } else {
        mirror_cv_.wait_for(lock, retry_delay, [&] { return cluster_stop_; });
      }
      if (cluster_stop_) return;
      ids.swap(reload_ids_);
    }
    retry_delay = retry.empty() ? std::chrono::milliseconds(10)
                                : std::min(retry_delay * 2, std::chrono::milliseconds(500));
    ids.insert(ids.end(), retry.begin(), retry.end());
    retry.clear();
    const bool everything = std::find(ids.begin(), ids.end(), "") != ids.end();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // What this node had written when the read began: a row read now is at least as new as
    // those writes, unless one was in flight or another started since (it will be read
    // again when its own notification comes).
    struct Seen {
      bool exists = false;
      uint64_t started = 0;
      bool in_flight = false;
    };
    std::map<std::string, Seen> seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (everything) {
        for (auto& [id, e] : jobs_)
          seen[id] = Seen{true, e->writes_started, e->writes_in_flight > 0};
      } else {
        for (const std::string& id : ids) {
          auto it = jobs_.find(id);
          if (it != jobs_.end()) {
            seen[id] = Seen{true, it->second->writes_started, it->second->writes_in_flight > 0};
          } else {
            seen[id] = Seen{};
          }
        }
      }
    }
    auto rows = everything ? store_->LoadAll() : store_->LoadJobs(ids);
    if (!rows.ok()) {
      // The database is away: read again shortly (the listener also reports its return).
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      RequestReload(everything ? std::vector<std::string>{""} : ids);
      continue;
    }
    std::set<std::string> present;
    std::vector<EntryPtr> changed;
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (JobRecord& row : *rows) {
        present.insert(row.id);
        auto s = seen.find(row.id);
        auto it = jobs_.find(row.id);
        const bool exists_now = it != jobs_.end();
        if (s == seen.end()) {
          if (exists_now) continue;  // everything-reload: a job this node made meanwhile
        } else if (s->second.exists != exists_now ||
                   (exists_now &&
                    (s->second.in_flight || it->second->writes_in_flight > 0 ||
                     it->second->unsaved || it->second->writes_started != s->second.started))) {
          retry.push_back(row.id);
          continue;
        }
        queued = queued || row.state == v1::QUEUED;
        ReconcileLocked(std::move(row), &changed);
      }
      // Rows that are gone: deleted by another node's retention.
      for (const auto& [id, s] : seen) {
        if (present.count(id) || !s.exists) continue;
        auto it = jobs_.find(id);
        if (it == jobs_.end()) continue;
        EntryPtr e = it->second;
        if (!e->durable || e->writes_in_flight > 0 || e->writes_started != s.started ||
            !e->rec.final()) {
          continue;
        }
        ForgetLocked(e);
      }
    }
    for (const EntryPtr& e : changed) Notify(e);
    if (queued) WakeClaimer();
  }
}

namespace {

// The columns a node's view follows (lease_expires_ms moves with every heartbeat).
bool SameRow(const JobRecord& a, const JobRecord& b) {
  return a.state == b.state && a.cause == b.cause && a.error == b.error && a.engine == b.engine &&
         a.attempts == b.attempts && a.started_ms == b.started_ms &&
         a.finished_ms == b.finished_ms && a.deadline_ms == b.deadline_ms &&
         a.proof_bytes == b.proof_bytes && a.proof_sha256 == b.proof_sha256 &&
         a.prove_seconds == b.prove_seconds && a.security_bits == b.security_bits &&
         a.proven_security_bits == b.proven_security_bits && a.input_sha256 == b.input_sha256 &&
         a.input_bytes == b.input_bytes && a.crashes == b.crashes && a.queued_ms == b.queued_ms &&
         a.cancel_requested == b.cancel_requested && a.lease_node == b.lease_node &&
         a.priority == b.priority;
}

}  // namespace

void JobManager::ReconcileLocked(JobRecord row, std::vector<EntryPtr>* changed) {
  auto it = jobs_.find(row.id);
  if (it == jobs_.end()) {
    changed->push_back(AdoptLocked(std::move(row), /*enqueue=*/false));
    return;
  }
  EntryPtr e = it->second;
  // This node's submission (its own callback publishes it), or a change of this node not
  // yet committed (the database was away: housekeeping writes it again), is newer than the
  // row.
  if (!e->durable || e->unsaved) return;
  const JobRecord& cur = e->rec;
  if (cur.state == v1::RUNNING && cur.lease_node == node_id_) {
    if (row.state == v1::RUNNING && row.lease_node == node_id_ && row.attempts == cur.attempts) {
      // Still this node's attempt, whose record is the newer (stage, progress); only a
      // cancel another node asked for is news.
      if (row.cancel_requested && !cur.cancel_requested) {
        JobRecord next = cur;
        next.cancel_requested = true;
        ApplyLocked(e, std::move(next));
        if (e->local_attempt != 0) StopLocked(e, StopReason::kCancel);
        changed->push_back(e);
      }
      return;
    }
    if (row.state == v1::RUNNING && row.lease_node == node_id_ && e->local_attempt != 0 &&
        row.attempts == e->local_attempt) {
      // The record fell behind this node's own running claim (a restored write): the row
      // is the Run's; it goes on.
      JobRecord next = row;
      next.stage = cur.stage;
      next.progress = cur.progress;
      ApplyLocked(e, std::move(next));
      changed->push_back(e);
      return;
    }
    // The lease went elsewhere: this node's attempt stops; its writes are fenced off.
    if (e->local_attempt != 0) StopLocked(e, StopReason::kLost);
    e->local_attempt = 0;
    e->progress_ms = 0;
    auto claim = claims_.find(row.id);
    if (claim != claims_.end() && claim->second <= cur.attempts) claims_.erase(claim);
  }
  if (SameRow(cur, row)) return;
  ApplyLocked(e, std::move(row));
  changed->push_back(e);
}

std::vector<JobStore::NodeRecord> JobManager::Nodes() const {
  if (options_.cluster) {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    return nodes_;
  }
  JobStore::NodeRecord self;
  self.id = node_id_;
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    self.address = node_address_;
  }
  std::vector<std::string> names;
  for (const Scheduler::EngineStats& e : engines()) {
    if (!e.out_of_service.empty()) continue;
    const EngineInfo& info = e.info;
    names.push_back(info.name);
    self.memory_bytes += info.memory_budget_bytes;
  }
  self.engines = absl::StrJoin(names, ",");
  self.version = absl::StrCat(BuildVersion(), " (", BuildCommit(), ")");
  self.started_ms = started_ms_;
  self.heartbeat_ms = NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    self.draining = draining_;
  }
  return std::vector<JobStore::NodeRecord>{self};
}

LiveStats JobManager::Live() const {
  LiveStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, LiveStats::Tenant> tenants;
    for (const auto& [id, e] : jobs_) {
      if (!e->durable) continue;
      ++s.jobs_by_state[JobStateName(e->rec.state)];
      if (e->rec.state == v1::QUEUED) ++tenants[e->rec.tenant].queued;
      if (e->rec.state == v1::RUNNING) ++tenants[e->rec.tenant].running;
    }
    std::vector<LiveStats::Tenant> busy;
    for (auto& [name, t] : tenants) {
      t.name = name;
      busy.push_back(t);
    }
    std::sort(busy.begin(), busy.end(), [](const auto& a, const auto& b) {
      return a.queued + a.running != b.queued + b.running
                 ? a.queued + a.running > b.queued + b.running
                 : a.name < b.name;
    });
    LiveStats::Tenant other{"other", 0, 0};
    for (size_t i = 0; i < busy.size(); ++i) {
      if (i < kMaxTenantSeries) {
        s.tenants.push_back(busy[i]);
      } else {
        other.queued += busy[i].queued;
        other.running += busy[i].running;
      }
    }
    if (busy.size() > kMaxTenantSeries) s.tenants.push_back(other);
  }
  const Scheduler::Stats st = scheduler_->stats();
  s.queue_depth = st.queued;
  s.oldest_queued_age_seconds =
      st.oldest_queued_ms == 0 ? 0.0 : double(NowMs() - st.oldest_queued_ms) / 1e3;
  const std::vector<const Engine*> engines = scheduler_->engines();
  for (size_t i = 0; i < st.engines.size(); ++i) {
    const auto& e = st.engines[i];
    LiveStats::Engine le;
    le.name = e.info.name;
    le.kind = std::string(EngineKindName(e.info.kind));
    le.running = e.running;
    le.reserved_bytes = e.reserved_bytes;
    le.budget_bytes = e.info.memory_budget_bytes;
    le.in_service = e.out_of_service.empty();
    DeviceFigures d;
    if (i < engines.size() && engines[i]->device_figures(&d)) {
      le.has_device = true;
      le.device_memory_in_use = d.memory_in_use_bytes;
      le.device_memory_peak = d.memory_peak_bytes;
      le.device_domain_cache_bytes = d.domain_cache_bytes;
      le.streams = d.streams;
      le.streams_busy = d.streams_busy;
      le.bytes_to_device = d.bytes_to_device;
      le.bytes_to_host = d.bytes_to_host;
      le.kernel_launches = d.kernel_launches;
    }
    s.engines.push_back(le);
  }
  const DomainCache::Stats dc = DomainCache::Global().stats();
  s.domain_cache_hits = dc.hits;
  s.domain_cache_misses = dc.misses;
  s.domain_cache_bytes = dc.bytes;
  return s;
}

std::vector<Scheduler::EngineStats> JobManager::engines() const {
  return scheduler_->stats().engines;
}

}  // namespace prover::server
