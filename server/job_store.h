// The durable job table: SQLite in WAL mode with synchronous=FULL, so a committed row
// survives a crash of the process and of the machine.
//
// Writes are group-committed: Put and Delete only queue the change; one writer thread
// takes everything queued, applies it in one transaction (each change in its own
// savepoint, so one failing change fails alone) and then calls each change's callback
// with its outcome. Concurrent submitters therefore share one fsync, which is what makes
// thousands of durable submits per second possible on a slow disk.
//
// Schema: versioned by PRAGMA user_version; Open applies the missing migrations in order,
// each in its own transaction, and refuses a database newer than this binary.
//
// Thread-safe. Callbacks run on the writer thread and must not block on the store.
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

struct sqlite3;

namespace prover::server {

class JobStore {
 public:
  using Done = std::function<void(absl::Status)>;

  // Creates the file when missing. INVALID_ARGUMENT / INTERNAL with the path on failure.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();  // commits everything queued, then closes
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Every job, oldest first (start-up recovery), without the request blob (request_bytes
  // tells its size). Call before any Put.
  absl::StatusOr<std::vector<JobRecord>> LoadAll();
  // The stored request of a committed job (NOT_FOUND when there is no such row). Safe to
  // call concurrently with writes (a separate read connection).
  absl::StatusOr<std::string> LoadRequest(const std::string& id);

  // Insert the row of r.id, or update every column but the request (fixed at insert).
  // `done` (may be empty) runs after the commit.
  void Put(const JobRecord& r, Done done = nullptr);
  void Delete(const std::string& id, Done done = nullptr);
  // Blocks until everything queued before the call is committed.
  void Flush();

  int schema_version() const { return schema_version_; }
  static int LatestSchemaVersion();

  struct Stats {
    uint64_t transactions = 0;
    uint64_t changes = 0;
  };
  Stats stats() const;

 private:
  struct Change {
    bool remove = false;
    JobRecord record;  // remove: only id
    Done done;
  };

  explicit JobStore(sqlite3* db) : db_(db) {}
  absl::Status Migrate();
  void WriterLoop();
  absl::Status Apply(const Change& c);

  sqlite3* db_ = nullptr;
  sqlite3* reader_ = nullptr;  // LoadRequest; guarded by reader_mu_
  std::mutex reader_mu_;
  int schema_version_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<Change> queue_;
  uint64_t enqueued_ = 0, committed_ = 0;
  bool stop_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace prover::server
