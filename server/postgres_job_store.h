// The job table on a PostgreSQL server, through Debian's libpq (job_store.h has the
// contract). Two connections: the writer thread's, which group-commits (one transaction per
// batch, a savepoint per change), and a reader for LoadAll and LoadRequest. A connection
// found broken is reset before its next use, so a restarted database server costs the
// changes of the batches that met it down (UNAVAILABLE) and nothing after.
//
// Schema: table prover_schema holds the version; migrations run under a transaction-level
// advisory lock, so nodes that start together migrate once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/job_store.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace prover::server {

class PostgresJobStore final : public JobStore {
 public:
  // `uri`: a libpq connection URI (postgresql://user@host:port/db?...). The password may
  // also come from PGPASSWORD or ~/.pgpass, as libpq reads them.
  // `password` (optional): given to libpq apart from the URI.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& uri,
                                                        bool exclusive = false,
                                                        const std::string& password = "");
  ~PostgresJobStore() override;

  absl::StatusOr<std::vector<JobRecord>> LoadAll() override;
  absl::StatusOr<std::vector<JobRecord>> LoadJobs(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::string> LoadRequest(const std::string& id) override;
  absl::StatusOr<JobRecord> FindByRequest(const std::string& tenant,
                                          const std::string& request_id) override;
  absl::StatusOr<JobRecord> Claim(const ClaimRequest& request) override;
  absl::StatusOr<std::vector<std::string>> Heartbeat(const std::string& node, int64_t now_ms,
                                                     int64_t lease_ms) override;
  absl::StatusOr<std::vector<JobRecord>> ExpireLeases(int64_t now_ms) override;
  absl::Status Listen(ChangeListener on_change) override;
  absl::Status PutNode(const NodeRecord& node) override;
  absl::StatusOr<std::vector<NodeRecord>> Nodes(int64_t alive_since_ms) override;
  absl::StatusOr<int> ForgetNodes(int64_t dead_before_ms) override;
  absl::StatusOr<bool> HoldHousekeeping() override;
  int schema_version() const override { return schema_version_; }
  const char* kind() const override { return "postgresql"; }

  // The advisory lock key of the migrations (tests).
  static constexpr int64_t kMigrationLock = 0x70726f7665720001;
  // The session lock of an exclusive store.
  static constexpr int64_t kExclusiveLock = 0x70726f7665720002;
  // The transaction lock that serializes claims.
  static constexpr int64_t kClaimLock = 0x70726f7665720003;
  // The session lock of the cluster's housekeeper (on the ops connection).
  static constexpr int64_t kHousekeepingLock = 0x70726f7665720004;

 private:
  PostgresJobStore(std::string uri, std::string password)
      : uri_(std::move(uri)), password_(std::move(password)) {}
  absl::Status Migrate();
  absl::Status CommitBatch(const std::deque<Change>& batch,
                           std::vector<absl::Status>& results) override;
  absl::Status Apply(const Change& c);
  // A batch in one round trip (libpq's pipeline mode): statements written not to fail on
  // the expected conditions (a taken request id, a fenced write: no row instead of an
  // error). Any other failure rolls the transaction back and asks for the slow path.
  absl::Status PipelinedBatch(const std::deque<Change>& batch, std::vector<absl::Status>& results,
                              bool* retry_slowly);
  // A change at a time, each in a savepoint (the slow path; it applies what it can).
  absl::Status SavepointBatch(const std::deque<Change>& batch, std::vector<absl::Status>& results);
  static constexpr size_t kMaxPipelinedChanges = 512;
  // The writer connection, reset when broken (and the exclusive lock taken again).
  absl::Status WriterReady();
  absl::Status TryLock();

  const std::string uri_;
  const std::string password_;
  PGconn* writer_ = nullptr;  // the writer thread's (and Open's before it)
  PGconn* reader_ = nullptr;  // guarded by reader_mu_
  std::mutex reader_mu_;
  std::thread listener_;  // Listen's, on a connection of its own
  std::atomic<bool> stop_listening_{false};
  PGconn* ops_ = nullptr;  // claims and leases, one statement each; guarded by ops_mu_
  std::mutex ops_mu_;
  PGconn* claim_ = nullptr;  // claims, whose transactions may wait for each other
  std::mutex claim_mu_;
  int housekeeper_pid_ = 0;  // the ops backend that holds kHousekeepingLock; 0: none
  // The backends of writer_ and claim_ (0: none now): their changes are the caller's own,
  // applied by it already, so Listen passes them over. Set after each (re)connection,
  // before the first statement on it.
  std::atomic<int> writer_pid_{0}, claim_pid_{0};
  // Runs `sql` with text parameters on ops_ (reset first when broken); `read` (optional)
  // sees the result.
  absl::Status OpsQuery(const std::string& sql, const std::vector<std::string>& params,
                        const char* what, const std::function<void(PGresult*)>& read);
  // Runs `sql` with text parameters on ops_ (reset first when broken); the result rows.
  absl::StatusOr<std::vector<JobRecord>> OpsRows(const std::string& sql,
                                                 const std::vector<std::string>& params,
                                                 const char* what, std::vector<std::string>* ids);
  int schema_version_ = 0;
  bool exclusive_ = false;  // opened exclusive
  bool locked_ = false;     // the writer's session holds the lock
  bool prepared_ = false;   // the writer's session has the pipelined path's statements
};

}  // namespace prover::server
