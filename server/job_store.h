// The durable job table: the contract every database behind proverd keeps, and the group
// commit they share.
//
// Two implementations pass one contract suite (server/job_store_contract_test.cc):
//   sqlite:PATH            SQLite in WAL mode, synchronous=FULL (sqlite_job_store.h): the
//                          embedded default, one node.
//   postgresql://...       PostgreSQL through libpq (postgres_job_store.h).
// A committed row survives a crash of the process and of the machine (PostgreSQL: of the
// database server too, with its default fsync and synchronous_commit).
//
// The contract:
//   - Put inserts the row of r.id, or updates every column but the request, which is fixed
//     by the first write (later writes come from records that no longer hold it).
//   - (tenant, request_id) is unique among rows with a request id: a Put that would make a
//     second such row fails with ALREADY_EXISTS, alone.
//   - Writes are group-committed: Put and Delete only queue the change; one writer thread
//     takes everything queued, applies it in one transaction (each change in its own
//     savepoint, so one failing change fails alone) and then calls each change's callback
//     with its outcome, in the order the changes were queued. Concurrent submitters share
//     one commit.
//   - Failures that pass (a busy or unreachable database, a full disk) are UNAVAILABLE; a
//     store that lost its connection reconnects on the next batch.
//   - The schema is versioned; Open applies the missing migrations in order, each in its
//     own transaction (PostgreSQL: under an advisory lock, so concurrent nodes migrate once)
//     and refuses a database whose schema is newer than this binary (FAILED_PRECONDITION).
//
// Thread-safe. Callbacks run on the writer thread and must not wait for the store's writes
// (reads through its other connections, LoadRequest and FindByRequest, are fine).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/job.h"

namespace prover::server {

class JobStore {
 public:
  using Done = std::function<void(absl::Status)>;

  // `database`: "sqlite:PATH", a bare path (SQLite), or a libpq URI "postgresql://..." /
  // "postgres://...". SQLite creates the file when missing. Errors name the database
  // (never its password).
  // `exclusive`: this process becomes the database's only user until the store is closed,
  // before anything is migrated; FAILED_PRECONDITION when another process holds it (two
  // single-node proverds on one database would both run every job). SQLite: flock on
  // PATH.lock; PostgreSQL: a session-level advisory lock, taken again when the connection
  // is re-established (the batches fail UNAVAILABLE while another process holds it).
  // `password`: PostgreSQL's, given apart from the URI (--database-password-file).
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& database,
                                                        bool exclusive = false,
                                                        const std::string& password = "");
  // The schema version this binary writes (the same on every backend).
  static int LatestSchemaVersion();
  // `database` as it may be logged: a URI's password replaced by "***".
  static std::string Redacted(const std::string& database);

  virtual ~JobStore();  // implementations call StopWriter() first: everything queued commits
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Every job, oldest first (start-up recovery), without the request blob (request_bytes
  // tells its size).
  virtual absl::StatusOr<std::vector<JobRecord>> LoadAll() = 0;
  // The stored request of a committed job (NOT_FOUND when there is no such row). Safe to
  // call concurrently with writes (a separate connection).
  virtual absl::StatusOr<std::string> LoadRequest(const std::string& id) = 0;
  // The committed job with this (tenant, request id), without the request blob; NOT_FOUND
  // when none. A separate connection, like LoadRequest.
  virtual absl::StatusOr<JobRecord> FindByRequest(const std::string& tenant,
                                                  const std::string& request_id) = 0;
  // The committed rows of these ids (without the request blob), in no particular order; an
  // id without a row (deleted, or never committed) is absent. A separate connection, like
  // LoadRequest: a node's view of jobs another node changed (Listen).
  virtual absl::StatusOr<std::vector<JobRecord>> LoadJobs(const std::vector<std::string>& ids) = 0;

  // Insert or update the row of r.id (see the contract above). `done` (may be empty) runs
  // after the commit.
  void Put(const JobRecord& r, Done done = nullptr);
  // The write of a claimed job's holder: applied (every column but the request, the attempt
  // number and the lease, which are the claim's and the heartbeats'; a write that leaves
  // RUNNING clears the lease) only while the row is RUNNING under this node's lease with
  // this attempt number; otherwise nothing changes and `done` gets FAILED_PRECONDITION
  // ("fenced"). A node that was paused or cut
  // off past its lease, whose job another node took, changes nothing with it.
  struct Fence {
    std::string node;
    uint32_t attempt = 0;
  };
  void PutFenced(const JobRecord& r, Fence fence, Done done = nullptr);
  // Sets the cancel of a QUEUED or RUNNING job and nothing else, group-committed like Put:
  // how a node asks the node that holds a job to stop it (the holder hears of it through
  // Listen, stops, and settles the job with its fenced write, which keeps the cancel).
  // FAILED_PRECONDITION when the job is final or has no row.
  void RequestCancel(const std::string& id, Done done = nullptr);
  // The write of a node that changes a QUEUED job it does not hold (a cancel, a deadline that
  // passed in the queue): applied (the columns of a fenced write) only while the row is still
  // QUEUED; otherwise nothing changes and `done` gets FAILED_PRECONDITION (another node
  // claimed the job, or it is final).
  void PutIfQueued(const JobRecord& r, Done done = nullptr);

  // Claims and leases (several nodes on one database; any backend):
  struct ClaimRequest {
    std::string node;
    int64_t now_ms = 0;
    int64_t lease_ms = 0;
    uint64_t max_bytes = 0;               // the largest estimate this node can hold now
    uint32_t max_running_per_tenant = 0;  // 0: no limit
  };
  // The next QUEUED job in the cluster-wide order whose estimate fits, made RUNNING under a
  // lease to `node` until now + lease, with attempts + 1 as its fencing token, in one
  // committed transaction; NOT_FOUND when none. The order is the single node's: fairness
  // first (the tenant with the fewest RUNNING jobs, so one tenant's high-priority burst
  // cannot starve another), then priority, then the longest waiting, then the id; a tenant
  // at max_running_per_tenant is passed over. Claims are serialized cluster-wide
  // (PostgreSQL: a transaction advisory lock, so the running counts they read are exact,
  // and FOR UPDATE SKIP LOCKED; SQLite: one writer). A claimed job may carry a cancel or a
  // passed deadline: the claimer settles it.
  virtual absl::StatusOr<JobRecord> Claim(const ClaimRequest& request) = 0;
  // Extends the leases of every job `node` holds to now + lease; the ids it still holds (a
  // job missing here was taken away: its lease expired).
  virtual absl::StatusOr<std::vector<std::string>> Heartbeat(const std::string& node,
                                                             int64_t now_ms, int64_t lease_ms) = 0;
  // RUNNING jobs whose lease expired before now go back to QUEUED (behind the jobs waiting:
  // queued_ms = now; crashes + 1, as a node died with them), lease cleared. The jobs
  // requeued.
  virtual absl::StatusOr<std::vector<JobRecord>> ExpireLeases(int64_t now_ms) = 0;

  // Changes committed through any connection to this database: `on_change` gets the ids of
  // changed jobs (inserted, updated, deleted; a lease extension alone is not a change) on
  // the store's listener thread; an empty list means "jobs may have changed, which is not
  // known" (after the listener lost its connection, and on SQLite, which learns of changes
  // by polling the database's data version every 20 ms). PostgreSQL: a trigger NOTIFYs at
  // commit, LISTENed to on a connection of its own, so a node hears of another node's change
  // within milliseconds. It does not report the changes of this store's own write-behind
  // queue (Put, Enqueue, PutFenced, PutIfQueued, RequestCancel, Delete) and Claims: their
  // caller made them and knows them (and reads a row again itself where a write's outcome
  // is not what it asked). ExpireLeases and RequeueOrphans-style ops are reported. One
  // listener per store; it stops with the store. Must not block on the store.
  using ChangeListener = std::function<void(const std::vector<std::string>& ids)>;
  virtual absl::Status Listen(ChangeListener on_change) = 0;

  // The nodes of a cluster, one row each, kept fresh by their heartbeats.
  struct NodeRecord {
    std::string id;             // unique per process: chosen at start
    std::string address;        // where clients reach it (host:port)
    std::string engines;        // e.g. "cuda:0,cuda:1,cpu"
    std::string version;        // version and commit
    uint64_t memory_bytes = 0;  // the engines' budgets together
    int64_t started_ms = 0;
    int64_t heartbeat_ms = 0;
    bool draining = false;
  };
  // Inserts or refreshes the node's row (registration and every heartbeat).
  virtual absl::Status PutNode(const NodeRecord& node) = 0;
  // The nodes whose last heartbeat is at or after `alive_since_ms`, by id.
  virtual absl::StatusOr<std::vector<NodeRecord>> Nodes(int64_t alive_since_ms) = 0;
  // Deletes the rows of nodes silent since before `dead_before_ms`; how many.
  virtual absl::StatusOr<int> ForgetNodes(int64_t dead_before_ms) = 0;
  // Whether this process is the cluster's housekeeper (retention, deadlines of queued jobs,
  // forgetting dead nodes: work done once per cluster, not by every node racing): takes, or
  // keeps, a lock one process holds at a time, released when that process or its connection
  // dies, so another node takes the role over at its next call. PostgreSQL: a session
  // advisory lock; SQLite: flock on PATH.housekeeper.
  virtual absl::StatusOr<bool> HoldHousekeeping() = 0;
  void Delete(const std::string& id, Done done = nullptr);
  // Blocks until everything queued before the call is committed.
  void Flush();

  virtual int schema_version() const = 0;
  // "sqlite" or "postgresql".
  virtual const char* kind() const = 0;

  // A queued write (the backends' CommitBatch applies them).
  struct Change {
    bool remove = false;
    JobRecord record;  // remove: only id
    Done done;
    bool fenced = false;  // PutFenced: an UPDATE conditional on `fence`
    Fence fence;
    bool cancel = false;     // RequestCancel: only the cancel flag (record: only id)
    bool if_queued = false;  // PutIfQueued: an UPDATE conditional on the row being QUEUED
  };

  struct Stats {
    uint64_t transactions = 0;
    uint64_t changes = 0;
  };
  Stats stats() const;

 protected:
  JobStore() = default;
  // Starts the writer thread (the end of a successful Open).
  void StartWriter();
  // Commits everything queued and joins the writer; idempotent.
  void StopWriter();
  // One transaction: results[i] is change i's outcome (one savepoint each); a failure of
  // the transaction itself is returned and fails every change.
  virtual absl::Status CommitBatch(const std::deque<Change>& batch,
                                   std::vector<absl::Status>& results) = 0;

 private:
  void WriterLoop();
  // Queues one change for the writer thread.
  void Enqueue(Change c);

  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<Change> queue_;
  uint64_t enqueued_ = 0, committed_ = 0;
  bool stop_ = false;
  Stats stats_;
  std::thread writer_;
};

// The one owner of the jobs table's columns: their names in the order every backend binds
// and reads them, their types, and their mapping to JobRecord.
struct JobColumn {
  enum Type { kInt, kReal, kText, kBlob };
  const char* name;
  Type type;
};
extern const JobColumn kJobColumns[];
extern const int kJobColumnCount;
extern const int kRequestColumn;  // the request blob
// "id, tenant, ..." (every column; `request_length`: length(request) in place of the blob).
std::string JobColumnList(bool request_length = false);

// One column's value as bound (ints as int64, the blob as bytes).
struct ColumnValue {
  int64_t i = 0;
  double d = 0;
  std::string s;  // text and blob
};
std::vector<ColumnValue> JobRow(const JobRecord& r);

// A result row of JobColumnList(true), however the backend reads it.
class RowReader {
 public:
  virtual ~RowReader() = default;
  virtual int64_t Int(int column) const = 0;
  virtual double Real(int column) const = 0;
  virtual std::string Text(int column) const = 0;
};
JobRecord JobFromRow(const RowReader& row);

// The statements both backends run, with placeholders `P1, P2, ...` written as "?1" (SQLite)
// or "$1" (PostgreSQL).
namespace job_sql {
// Parameters: 1 id, then the columns of FencedColumns() in order, then the attempt and the
// node of the fence. Changes one row or none.
std::string FencedUpdate(char placeholder);
// Parameters: 1 id, then the columns of FencedColumns() in order. Changes the row only while
// it is QUEUED.
std::string QueuedUpdate(char placeholder);
std::vector<int> FencedColumns();  // every column but id and the request
// Parameters: 1 id. Sets the cancel of a QUEUED or RUNNING job; changes one row or none.
std::string RequestCancel(char placeholder);
// Parameters: 1 node, 2 now, 3 lease, 4 max bytes, 5 running limit per tenant (0: none).
// Returns the claimed row (JobColumnList(true)).
std::string Claim(char placeholder, bool skip_locked);
// Parameters: 1 node, 2 now, 3 lease. Returns the ids.
std::string Heartbeat(char placeholder);
// Parameters: 1 now. Returns the requeued rows (JobColumnList(true)).
std::string ExpireLeases(char placeholder);
// Parameters: id, address, engines, version, memory_bytes, started_ms, heartbeat_ms, draining.
std::string PutNode(char placeholder);
// Parameters: 1 alive since. Returns NodeColumns().
std::string Nodes(char placeholder);
constexpr char kNodeColumns[] =
    "id, address, engines, version, memory_bytes, started_ms, heartbeat_ms, draining";
// Parameters: 1 dead before.
std::string ForgetNodes(char placeholder);
}  // namespace job_sql

}  // namespace prover::server
