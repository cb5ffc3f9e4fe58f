// The job table in one SQLite file (job_store.h has the contract): WAL mode with
// synchronous=FULL, a writer connection for the group commit and a read-only one for
// LoadRequest. Schema version in PRAGMA user_version.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/job_store.h"

struct sqlite3;

namespace prover::server {

class SqliteJobStore final : public JobStore {
 public:
  // Creates the file when missing. INTERNAL with the path on failure.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path,
                                                        bool exclusive = false);
  ~SqliteJobStore() override;

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
  const char* kind() const override { return "sqlite"; }

 private:
  SqliteJobStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Migrate();
  absl::Status CommitBatch(const std::deque<Change>& batch,
                           std::vector<absl::Status>& results) override;
  absl::Status Apply(const Change& c);

  int lock_fd_ = -1;         // exclusive: the flock'ed PATH.lock
  int housekeeper_fd_ = -1;  // the flock'ed PATH.housekeeper, once held
  std::mutex housekeeper_mu_;
  sqlite3* db_ = nullptr;      // the writer thread's (and Open's, LoadAll's before it)
  sqlite3* reader_ = nullptr;  // guarded by reader_mu_
  std::mutex reader_mu_;
  // Listen: a thread polling PRAGMA data_version on a connection of its own.
  std::thread listener_;
  std::atomic<bool> stop_listening_{false};
  sqlite3* ops_ = nullptr;  // claims and leases, each its own transaction; guarded by ops_mu_
  std::mutex ops_mu_;
  const std::string path_;
  int schema_version_ = 0;
};

}  // namespace prover::server
