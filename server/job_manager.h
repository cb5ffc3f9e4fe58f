// The job manager: the service's state machine. It owns the durable stores (job rows in
// SQLite, traces and proofs as files), the in-memory view clients read, the scheduler
// that runs jobs on engines, and the housekeeping (deadlines of queued jobs, retention).
//
// States: QUEUED -> RUNNING -> SUCCEEDED | FAILED(cause) | CANCELLED, and RUNNING ->
// QUEUED again when the process stops in the middle of a proof (on restart, or on a
// drain that times out), a GPU fails (the CPU engine reruns it) or the machine is short
// of disk or descriptors (retried after a delay: never the job's failure). A job that was
// running when the process died --max-crashes times is FAILED(QUARANTINED) at start-up,
// and one requeued after a crash goes behind the jobs already waiting.
//
// Stopping: a cancel, a deadline or a drain requests the running job's stop token, which
// the engine polls inside its long stages, so the job stops within about a second. A
// cancel is durable (its row committed) before it is acknowledged and survives restarts.
//
// Resources (docs/OPERATIONS.md, "Resources"): submissions are refused at the door when the
// tenant holds too many jobs or bytes (RESOURCE_EXHAUSTED) or the disk or the descriptor
// table is nearly full (UNAVAILABLE); a job's request stays on disk, not in memory; its
// input is deleted as soon as it is final.
//
// Durability: Submit answers only after the job's row is committed and its trace is on
// disk (fsync'ed), so an acknowledged job survives kill -9 and power loss. Final states
// are announced to watchers after their row is committed and, for SUCCEEDED, after the
// proof file is on disk.
//
// Isolation: every call takes the caller's tenant; another tenant's job is NOT_FOUND.
//
// Thread-safe. Watch callbacks run on whichever thread made the change and must not
// block; they may arrive concurrently, each with the version of the job they describe
// (versions increase with every change), so a watcher keeps the newest it has seen.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/artifact_store.h"
#include "server/job.h"
#include "server/job_store.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/scheduler.h"

namespace prover::server {

struct ManagerOptions {
  std::string data_dir;
  std::string database;           // JobStore::Open; empty: sqlite:DATA_DIR/prover.db
  std::string database_password;  // PostgreSQL's, apart from the URI
  RequestLimits request_limits;
  uint32_t max_queued_per_tenant = 1000;
  uint32_t max_running_per_tenant = 4;
  uint32_t max_crashes = 3;
  // The watchdog: a RUNNING job whose stage has not moved for this long (0: never) is
  // stopped and requeued, or FAILED(STALLED) when it has had max_attempts attempts. The
  // stuck attempt's later writes are fenced off (its attempt number is not the job's).
  int64_t stuck_timeout_ms = int64_t{1800} * 1000;
  uint32_t max_attempts = 3;
  uint64_t max_stored_bytes_per_tenant = 16ull << 30;
  uint32_t max_jobs_per_tenant = 100000;
  uint64_t min_free_disk_bytes = 256ull << 20;
  uint32_t min_free_descriptors = 64;
  // ListJobs looks at most this many of the tenant's jobs per call (then returns a page
  // token to continue), so one call holds the job table's lock for a bounded time.
  uint32_t max_list_scan = 10000;
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;
  int64_t housekeeping_interval_ms = 100;

  // Cluster mode (docs/OPERATIONS.md, "A cluster"): several proverd nodes on one PostgreSQL
  // database and one shared data directory. The database is the truth: each node claims the
  // jobs its engines can hold (JobStore::Claim) under a lease its heartbeats extend, writes
  // what a claimed job does only under that lease (fenced by the attempt number), and keeps
  // its view of every other job fresh from the database's change notifications (Listen).
  bool cluster = false;
  std::string node_id;       // unique per process; empty: host-pid-random
  std::string node_address;  // where clients reach this node (the nodes table)
  int64_t lease_ms = 10000;  // a claim's lease; heartbeats every lease_ms / 4
};

class JobManager {
 public:
  using SubmitDone = std::function<void(absl::StatusOr<v1::Job> job, bool deduplicated)>;
  using JobDone = std::function<void(absl::StatusOr<v1::Job> job)>;
  using Watcher = std::function<void(uint64_t version, const v1::Job& job)>;

  // Opens (or creates) the data directory, recovers the jobs found there (RUNNING ones go
  // back to the queue) and starts scheduling. `engines` in order of preference.
  static absl::StatusOr<std::unique_ptr<JobManager>> Open(
      const ManagerOptions& options, std::vector<std::unique_ptr<Engine>> engines,
      Metrics* metrics);
  // The same on a store already open (unit tests give a fake; options.database unused).
  static absl::StatusOr<std::unique_ptr<JobManager>> Open(
      const ManagerOptions& options, std::vector<std::unique_ptr<Engine>> engines, Metrics* metrics,
      std::unique_ptr<JobStore> store);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Validates (INVALID_ARGUMENT with the field path), refuses over-limit tenants and jobs
  // no engine can hold (RESOURCE_EXHAUSTED), deduplicates by request id (same content:
  // the earlier job; other content: ALREADY_EXISTS), then makes the job durable and calls
  // `done`, possibly on another thread. The request's user.trace must be empty: the trace
  // comes in `trace`. Blocks on validation, hashing and the trace's fsync: call it from a
  // worker thread, never from a gRPC callback thread.
  // `trace_id`: the W3C trace id of the call (TraceIdOf), carried into the job's log lines.
  void Submit(const std::string& tenant, v1::SubmitProofRequest request, std::string trace,
              SubmitDone done, const std::string& trace_id = "");

  absl::StatusOr<v1::Job> Get(const std::string& tenant, const std::string& id);
  // Calls `done` once the cancel is durable (possibly on another thread; never blocks).
  void Cancel(const std::string& tenant, const std::string& id, JobDone done);
  absl::StatusOr<v1::ListJobsResponse> List(const std::string& tenant,
                                            const v1::ListJobsRequest& request) const;
  // The proof file of a SUCCEEDED job, opened for reading in pieces; the caller hashes what
  // it reads and compares with `sha256` (FAILED_PRECONDITION when the job has not
  // succeeded, DATA_LOSS when the file is missing or of the wrong length).
  struct ProofSource {
    std::unique_ptr<ArtifactStore::Reader> reader;
    std::string sha256;
  };
  absl::StatusOr<ProofSource> OpenProof(const std::string& tenant, const std::string& id);
  // A proof stream found bytes that do not hash to the stored checksum.
  void ReportCorruptProof(const std::string& id, const std::string& detail);

  // Calls `watcher` with the current state at once and then with every change, until
  // Unsubscribe. Returns the token for Unsubscribe.
  absl::StatusOr<uint64_t> Subscribe(const std::string& tenant, const std::string& id,
                                     Watcher watcher);
  void Unsubscribe(const std::string& id, uint64_t token);

  // SIGTERM: stop starting jobs, let running ones finish for up to `timeout`, then stop
  // them at their next stage boundary and put them back in the queue (durably). New
  // submissions are refused with UNAVAILABLE from the call on.
  void Drain(std::chrono::milliseconds timeout);

  // The edges of the state machine (the header comment): QUEUED -> RUNNING, RUNNING ->
  // QUEUED, QUEUED | RUNNING -> SUCCEEDED | FAILED | CANCELLED, and a row of an unknown
  // state (read from the database) -> FAILED.
  static bool Allowed(v1::JobState from, v1::JobState to);
  LiveStats Live() const;
  // Every engine with its state (running jobs, and why it is out of service if it is).
  std::vector<Scheduler::EngineStats> engines() const;
  // Cluster mode: the nodes whose heartbeat is at most 3 leases old, as the last heartbeat
  // read them from the database; one mode: this process alone. Never blocks on the store.
  std::vector<JobStore::NodeRecord> Nodes() const;
  const std::string& node_id() const { return node_id_; }
  // Where clients reach this node, once the server is bound (the nodes table).
  void SetNodeAddress(const std::string& address);
  const ManagerOptions& options() const { return options_; }
  // Blocks until every queued store write is committed (tests, shutdown).
  void FlushStore() { store_->Flush(); }

 private:
  // Why a running job is asked to stop (rec.cancel_requested says "cancel").
  // kLost: cluster mode, the lease went to another node (the job is no longer this one's).
  enum class StopReason { kNone, kCancel, kDeadline, kDrain, kStuck, kLost };
  // How a write of a job is conditioned in cluster mode (one mode: never).
  struct Guard {
    enum Kind { kNone, kFenced, kIfQueued } kind = kNone;
    JobStore::Fence fence;
  };
  struct Entry {
    // The job's id and trace id, set before the entry is shared and never changed: read
    // without the lock (log lines), unlike `rec`, which ApplyLocked replaces whole.
    std::string id, trace_id;
    JobRecord rec;
    uint64_t version = 0;
    bool durable = false;
    std::vector<SubmitDone> on_durable;  // duplicates that arrived before the commit
    StopReason stop_reason = StopReason::kNone;
    std::stop_source stop;    // the running attempt's; a new one for every attempt
    int64_t progress_ms = 0;  // when the running attempt last moved (start, stages): watchdog
    // A write of this job failed (the database was away): housekeeping writes the record
    // again until it commits; `unsaved_notify`: watchers still wait to hear of the change.
    bool unsaved = false;
    bool unsaved_notify = false;
    uint32_t writes_in_flight = 0;  // Persist calls not yet answered by the store
    uint64_t writes_started = 0;    // Persist calls ever, and claims (the mirror's check)
    Guard guard;                    // cluster mode: the condition of the last write (rewrites)
    // Cluster mode: the record before a conditional change, restored when the database
    // refuses it (another node got there first), so nothing shows a state never committed.
    std::optional<JobRecord> before_guarded;
    uint32_t local_attempt = 0;  // cluster mode: the attempt a Run of this process runs

    std::map<uint64_t, Watcher> watchers;
    // What clients see, published on every change (PublishLocked): ListJobs reads it
    // without the job table's lock.
    std::atomic<std::shared_ptr<const v1::Job>> view;
  };
  using EntryPtr = std::shared_ptr<Entry>;
  struct TenantUsage {
    uint32_t queued = 0;  // QUEUED jobs
    uint32_t jobs = 0;    // rows held, final ones included
    uint64_t stored = 0;  // JobRecord::stored_bytes() summed
  };

  JobManager(const ManagerOptions& options, Metrics* metrics);
  absl::Status Recover();
  EntryPtr FindLocked(const std::string& tenant, const std::string& id) const;
  // A durable row this process did not know (start-up, or a row another submission made)
  // as an entry: indexed, counted, published, and queued when QUEUED and `enqueue`.
  EntryPtr AdoptLocked(JobRecord r, bool enqueue = true);
  // Snapshots the entry and calls its watchers (outside the lock).
  void Notify(const EntryPtr& e);
  void Persist(const EntryPtr& e, bool notify_after_commit, JobDone done = nullptr);
  // The job enters the queue (under mu_): one mode, the scheduler's; cluster mode, the
  // database's, which the claimer is told to look at.
  void QueueLocked(const JobRecord& r);
  // Cluster mode.
  void ClaimLoop();
  void HeartbeatLoop();
  void MirrorLoop();
  // A committed row this node learned of (another node's change, or its own echoed back).
  void ReconcileLocked(JobRecord row, std::vector<EntryPtr>* changed);
  void WakeClaimer();
  // Cluster mode, stopping: claimed jobs no Run started go back to the queue (fenced).
  void ReleaseClaims();
  void RequestReload(std::vector<std::string> ids);
  void RequeueOrphans(const std::vector<std::string>& ids, int64_t now);
  // Cluster mode: a job this node has not heard of yet (submitted on another node a moment
  // ago), or, with `unless_succeeded`, one not yet SUCCEEDED here, is read from the database
  // (one primary-key read) so that a client moving between nodes never sees it missing.
  void ReadThrough(const std::string& id, bool unless_succeeded = false);
  // After every change of e->rec (under mu_): a new version, and the view published.
  void PublishLocked(const EntryPtr& e);
  // A change of a job's state, and what comes with it.
  struct Move {
    v1::JobState to = v1::QUEUED;
    v1::FailureCause cause = v1::FAILURE_CAUSE_UNSPECIFIED;  // FAILED only
    std::string error;                                       // final states
    const char* why = "";                                    // requeues: logged
    bool to_back = false;  // a requeue goes behind the jobs already waiting (queued_ms = now)

    static Move Start() { return Move{v1::RUNNING, v1::FAILURE_CAUSE_UNSPECIFIED, "", "", false}; }
    static Move Requeue(const char* why, bool to_back = false) {
      return Move{v1::QUEUED, v1::FAILURE_CAUSE_UNSPECIFIED, "", why, to_back};
    }
    static Move Cancelled() {
      return Move{v1::CANCELLED, v1::FAILURE_CAUSE_UNSPECIFIED, "cancelled by the client", "",
                  false};
    }
    static Move Finish(v1::JobState to, v1::FailureCause cause = v1::FAILURE_CAUSE_UNSPECIFIED,
                       std::string error = "") {
      return Move{to, cause, std::move(error), "", false};
    }
  };
  // The record after `m` (pure: the one owner of what a transition changes in a row).
  static JobRecord Next(const JobRecord& r, const Move& m, int64_t now);
  // The one place a job's state changes (under mu_): checks the edge (a refused one is a
  // bug: logged, nothing changes), keeps the tenant's usage in step (CountLocked), publishes
  // the new view, persists it, tells watchers after the commit, and for a final state
  // deletes the input once the row no longer names it. `done` (optional) gets the job after
  // the commit. QUEUED -> RUNNING is the exception in timing, not in content: Run commits
  // Next()'s row first and then applies it with ApplyLocked.
  bool TransitionLocked(const EntryPtr& e, Move m, JobDone done = nullptr);
  // Whether `attempt` (a Run's) is still the job's running attempt (under mu_). When not,
  // the write it was about to make is discarded and counted.
  bool CurrentLocked(const EntryPtr& e, uint32_t attempt, const char* what);
  // Replaces e->rec by `next` (under mu_), usage counted again and the view published.
  void ApplyLocked(const EntryPtr& e, JobRecord next);
  // Adds (sign +1) or removes (-1) a record's share of its tenant's usage: the only writer
  // of usage_, so the counters are always what the records say.
  void CountLocked(const JobRecord& r, int sign);
  // Asks the running attempt to stop (under mu_).
  void StopLocked(const EntryPtr& e, StopReason reason);
  // UNAVAILABLE when the disk or the descriptor table is nearly full; `resource` names it.
  absl::Status CheckMachineResources(uint64_t incoming_bytes, const char** resource) const;
  RunOutcome Run(const QueuedJob& job, Engine& engine);
  // Before a job starts (under mu_): a cancel, a passed deadline or a machine short of disk
  // or descriptors settles it here; the outcome then, or nothing when it may start.
  std::optional<RunOutcome> SettleBeforeStartLocked(const EntryPtr& e, const absl::Status& machine);
  void HousekeepingLoop();
  // A RUNNING job without progress for stuck_timeout_ms (under mu_): stopped, then
  // requeued, or FAILED(STALLED) after max_attempts.
  void WatchdogLocked(const EntryPtr& e, int64_t now);
  void ForgetLocked(const EntryPtr& e);

  const ManagerOptions options_;
  Metrics* metrics_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<Scheduler> scheduler_;
  backend::Backend* estimator_ = nullptr;  // the CPU engine's backend

  mutable std::mutex mu_;
  std::map<std::string, EntryPtr> jobs_;
  std::map<std::pair<std::string, std::string>, std::string> by_request_;  // (tenant, rid)
  // Each tenant's durable jobs by (created_ms, id). Guarded by index_mu_, taken inside mu_
  // where it changes and alone by ListJobs, which holds it only to copy up to
  // max_list_scan pointers and never takes the job table's lock.
  mutable std::mutex index_mu_;
  std::map<std::string, std::map<std::pair<int64_t, std::string>, EntryPtr>> by_tenant_;
  std::map<std::string, TenantUsage> usage_;
  // Cluster mode: the claims this process made and still holds (id -> attempt). A row held
  // under this node's id that is not here (a claim whose answer was lost, or one a dead
  // process of the same --node-id left) is requeued by the heartbeat, not beaten forever.
  std::map<std::string, uint32_t> claims_;
  uint64_t next_token_ = 1;
  bool draining_ = false;

  std::mutex hk_mu_;
  std::condition_variable hk_cv_;
  bool hk_stop_ = false;
  std::thread housekeeping_;

  // Cluster mode.
  std::string node_id_;
  std::string node_address_;                 // guarded by cluster_mu_
  std::vector<JobStore::NodeRecord> nodes_;  // the last heartbeat's view; cluster_mu_
  int64_t started_ms_ = 0;
  mutable std::mutex cluster_mu_;
  std::condition_variable claim_cv_, mirror_cv_, beat_cv_;
  bool cluster_stop_ = false;  // heartbeat and mirror
  bool claim_stop_ = false;    // the claimer (first: no claim while the node stops)
  bool claim_wake_ = false;
  std::atomic<bool> housekeeper_{false};  // cluster mode: this node holds the role
  bool beat_now_ = false;
  std::vector<std::string> reload_ids_;  // ids to read again; "" : everything
  std::thread claimer_, heartbeat_, mirror_;

  // Last: destroyed first, so that its listener and writer threads, whose callbacks use the
  // members above, end while those are alive.
  std::unique_ptr<JobStore> store_;
};

int64_t NowMs();
std::string NewJobId();
// host-pid-random: a cluster node's id when none is configured.
std::string NewNodeId();

}  // namespace prover::server
