#include "server/sqlite_job_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace prover::server {
namespace {

const char* const kMigrations[] = {
    // 1: the job table.
    R"sql(
CREATE TABLE jobs (
  id              TEXT PRIMARY KEY,
  tenant          TEXT NOT NULL,
  request_id      TEXT NOT NULL,
  content_hash    TEXT NOT NULL,
  state           INTEGER NOT NULL,
  cause           INTEGER NOT NULL,
  error           TEXT NOT NULL,
  workload        TEXT NOT NULL,
  priority        INTEGER NOT NULL,
  engine          TEXT NOT NULL,
  attempts        INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL,
  started_ms      INTEGER NOT NULL,
  finished_ms     INTEGER NOT NULL,
  deadline_ms     INTEGER NOT NULL,
  proof_bytes     INTEGER NOT NULL,
  proof_sha256    TEXT NOT NULL,
  prove_seconds   REAL NOT NULL,
  security_bits   INTEGER NOT NULL,
  request         BLOB NOT NULL,
  input_sha256    TEXT NOT NULL,
  input_bytes     INTEGER NOT NULL,
  estimated_bytes INTEGER NOT NULL
);
CREATE INDEX jobs_by_tenant ON jobs (tenant, created_ms);
CREATE UNIQUE INDEX jobs_by_request ON jobs (tenant, request_id) WHERE request_id != '';
)sql",
    // 2: resource governance: crash counts (quarantine), queue order, durable cancels.
    R"sql(
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN queued_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
UPDATE jobs SET queued_ms = created_ms;
)sql",
    // 3: cluster claims: leases, and the queue's order as an index.
    R"sql(
ALTER TABLE jobs ADD COLUMN lease_node TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_queue ON jobs (state, priority, queued_ms);
)sql",
    // 4: change notifications (PostgreSQL's trigger); SQLite polls its data version instead.
    "SELECT 1;",
    // 5: the nodes of a cluster.
    R"sql(
CREATE TABLE nodes (
  id           TEXT PRIMARY KEY,
  address      TEXT NOT NULL,
  engines      TEXT NOT NULL,
  version      TEXT NOT NULL,
  memory_bytes INTEGER NOT NULL,
  started_ms   INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  draining     INTEGER NOT NULL
);
)sql",
    // 6: the claim's walk over the queue, tenant by tenant (job_sql::Claim).
    R"sql(
CREATE INDEX jobs_queue_by_tenant ON jobs (state, tenant, priority DESC, queued_ms, id);
)sql",
    // 7: the proof's proven security figure (docs/PROTOCOL.md section 2).
    R"sql(
ALTER TABLE jobs ADD COLUMN proven_security_bits INTEGER NOT NULL DEFAULT 0;
)sql",
};

// UNAVAILABLE for what passes (a busy or locked database, a full disk, I/O errors, memory),
// INTERNAL for the rest (a damaged database, a bug).
absl::Status SqlError(sqlite3* db, std::string_view what) {
  const std::string message = absl::StrCat("sqlite: ", std::string(what), ": ", sqlite3_errmsg(db));
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s =
        absl::InternalError(absl::StrCat("sqlite: ", err ? err : "error", " in: ", sql));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(s, i)))
           : std::string();
}

class SqliteRow final : public RowReader {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int64_t Int(int i) const override { return sqlite3_column_int64(s_, i); }
  double Real(int i) const override { return sqlite3_column_double(s_, i); }
  std::string Text(int i) const override { return ColumnText(s_, i); }

 private:
  sqlite3_stmt* s_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> SqliteJobStore::Open(const std::string& path,
                                                               bool exclusive) {
  static_assert(std::size(kMigrations) == 7, "JobStore::LatestSchemaVersion");
  int lock_fd = -1;
  if (exclusive) {
    // flock on a file of its own, before SQLite opens the database: closing a descriptor of
    // the database file would drop SQLite's own (POSIX) locks of this process. The kernel
    // releases the flock when the process dies, however it dies.
    const std::string lock_path = path + ".lock";
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
      return absl::InternalError(absl::StrCat(lock_path, ": cannot open: ", std::strerror(errno)));
    }
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd);
      return absl::FailedPreconditionError(
          absl::StrCat(path,
                       ": another proverd is using this job database (one process per SQLite "
                       "database; stop it or use another --data-dir)"));
    }
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::InternalError(
        absl::StrCat(path, ": cannot open the job database: ", sqlite3_errstr(rc)));
    sqlite3_close(db);
    if (lock_fd >= 0) ::close(lock_fd);
    return s;
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(db, path));
  store->lock_fd_ = lock_fd;
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA foreign_keys=ON;"}) {
    // Switching a new file to WAL takes an exclusive lock without waiting on the busy
    // handler: a process opening the file at the same moment retries for up to 5 s.
    absl::Status s = Exec(db, pragma);
    for (int tries = 0; !s.ok() && tries < 500 && (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY;
         ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      s = Exec(db, pragma);
    }
    if (!s.ok()) return absl::InternalError(absl::StrCat(path, ": ", s.message()));
  }
  if (auto s = store->Migrate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  if (sqlite3_open_v2(path.c_str(), &store->reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(path, ": cannot open a read connection"));
  }
  sqlite3_busy_timeout(store->reader_, 5000);
  if (sqlite3_open_v2(path.c_str(), &store->ops_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(path, ": cannot open a connection for claims"));
  }
  sqlite3_busy_timeout(store->ops_, 5000);
  Exec(store->ops_, "PRAGMA synchronous=FULL;").IgnoreError();
  store->StartWriter();
  return std::unique_ptr<JobStore>(std::move(store));
}

SqliteJobStore::~SqliteJobStore() {
  stop_listening_ = true;
  if (listener_.joinable()) listener_.join();
  StopWriter();
  sqlite3_close(ops_);
  sqlite3_close(reader_);
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  if (housekeeper_fd_ >= 0) ::close(housekeeper_fd_);
}

absl::Status SqliteJobStore::Migrate() {
  const int latest = LatestSchemaVersion();
  while (true) {
    // The version is read inside the write transaction: processes opening one file together
    // migrate it once.
    if (auto s = Exec(db_, "BEGIN IMMEDIATE;"); !s.ok()) return s;
    auto fail = [&](absl::Status s) {
      Exec(db_, "ROLLBACK;").IgnoreError();
      return s;
    };
    int version = 0;
    {
      Stmt st(db_, "PRAGMA user_version;");
      if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) {
        return fail(SqlError(db_, "user_version"));
      }
      version = sqlite3_column_int(st.get(), 0);
    }
    if (version > latest) {
      return fail(absl::FailedPreconditionError(
          absl::StrCat("job database schema version ", version,
                       " is newer than this proverd supports (", latest, "); upgrade proverd")));
    }
    if (version == latest) {
      schema_version_ = latest;
      return Exec(db_, "COMMIT;");
    }
    absl::Status s = Exec(db_, kMigrations[version]);
    if (s.ok()) s = Exec(db_, absl::StrCat("PRAGMA user_version = ", version + 1, ";").c_str());
    if (s.ok()) s = Exec(db_, "COMMIT;");
    if (!s.ok()) {
      return fail(absl::InternalError(
          absl::StrCat("migration to schema ", version + 1, ": ", s.message())));
    }
  }
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::LoadAll() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  Stmt st(
      reader_,
      absl::StrCat("SELECT ", JobColumnList(true), " FROM jobs ORDER BY created_ms, id;").c_str());
  if (!st.ok()) return SqlError(reader_, "load jobs");
  std::vector<JobRecord> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    out.push_back(JobFromRow(SqliteRow(st.get())));
  if (rc != SQLITE_DONE) return SqlError(reader_, "load jobs");
  return out;
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::LoadJobs(
    const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  static const std::string kSql =
      absl::StrCat("SELECT ", JobColumnList(true), " FROM jobs WHERE id = ?1;");
  Stmt st(reader_, kSql.c_str());
  if (!st.ok()) return SqlError(reader_, "prepare load jobs");
  std::vector<JobRecord> out;
  for (const std::string& id : ids) {
    sqlite3_reset(st.get());
    sqlite3_bind_text(st.get(), 1, id.data(), int(id.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      out.push_back(JobFromRow(SqliteRow(st.get())));
    } else if (rc != SQLITE_DONE) {
      return SqlError(reader_, "load jobs");
    }
  }
  return out;
}

absl::StatusOr<std::string> SqliteJobStore::LoadRequest(const std::string& id) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  Stmt st(reader_, "SELECT request FROM jobs WHERE id = ?1;");
  if (!st.ok()) return SqlError(reader_, "prepare load request");
  sqlite3_bind_text(st.get(), 1, id.data(), int(id.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no job row '", id, "'"));
  if (rc != SQLITE_ROW) return SqlError(reader_, "load request");
  const void* blob = sqlite3_column_blob(st.get(), 0);
  return std::string(static_cast<const char*>(blob), size_t(sqlite3_column_bytes(st.get(), 0)));
}

namespace {

void Bind(sqlite3_stmt* s, int index, JobColumn::Type type, const ColumnValue& v) {
  switch (type) {
    case JobColumn::kInt:
      sqlite3_bind_int64(s, index, v.i);
      break;
    case JobColumn::kReal:
      sqlite3_bind_double(s, index, v.d);
      break;
    case JobColumn::kText:
      sqlite3_bind_text(s, index, v.s.data(), int(v.s.size()), SQLITE_STATIC);
      break;
    case JobColumn::kBlob:
      sqlite3_bind_blob(s, index, v.s.data(), int(v.s.size()), SQLITE_STATIC);
      break;
  }
}

// Steps `st` to the end, one record per returned row.
absl::Status Rows(sqlite3* db, sqlite3_stmt* st, std::vector<JobRecord>* out, const char* what) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out->push_back(JobFromRow(SqliteRow(st)));
  if (rc != SQLITE_DONE) return SqlError(db, what);
  return absl::OkStatus();
}

}  // namespace

absl::Status SqliteJobStore::Listen(ChangeListener on_change) {
  if (listener_.joinable()) return absl::FailedPreconditionError("a listener is running");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat(path_, ": cannot open a connection to listen on"));
  }
  sqlite3_busy_timeout(db, 5000);
  // data_version changes when another connection (this store's writer included) commits.
  // The first reading is taken here, so every commit after Listen returns is seen.
  auto version = [db]() -> int64_t {
    Stmt st(db, "PRAGMA data_version;");
    return st.ok() && sqlite3_step(st.get()) == SQLITE_ROW ? sqlite3_column_int64(st.get(), 0) : -1;
  };
  const int64_t first = version();
  listener_ = std::thread([this, db, version, first, on_change = std::move(on_change)] {
    int64_t seen = first;
    while (!stop_listening_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const int64_t now = version();
      if (now != seen) {
        seen = now;
        on_change({});
      }
    }
    sqlite3_close(db);
  });
  return absl::OkStatus();
}

absl::Status SqliteJobStore::PutNode(const NodeRecord& n) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::PutNode('?');
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare node");
  int i = 1;
  for (const std::string* t : {&n.id, &n.address, &n.engines, &n.version}) {
    sqlite3_bind_text(st.get(), i++, t->data(), int(t->size()), SQLITE_STATIC);
  }
  sqlite3_bind_int64(st.get(), i++, int64_t(n.memory_bytes));
  sqlite3_bind_int64(st.get(), i++, n.started_ms);
  sqlite3_bind_int64(st.get(), i++, n.heartbeat_ms);
  sqlite3_bind_int(st.get(), i++, n.draining ? 1 : 0);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqlError(ops_, "node");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobStore::NodeRecord>> SqliteJobStore::Nodes(int64_t alive_since_ms) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::Nodes('?');
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare nodes");
  sqlite3_bind_int64(st.get(), 1, alive_since_ms);
  std::vector<NodeRecord> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    NodeRecord n;
    n.id = ColumnText(st.get(), 0);
    n.address = ColumnText(st.get(), 1);
    n.engines = ColumnText(st.get(), 2);
    n.version = ColumnText(st.get(), 3);
    n.memory_bytes = uint64_t(sqlite3_column_int64(st.get(), 4));
    n.started_ms = sqlite3_column_int64(st.get(), 5);
    n.heartbeat_ms = sqlite3_column_int64(st.get(), 6);
    n.draining = sqlite3_column_int(st.get(), 7) != 0;
    out.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) return SqlError(ops_, "nodes");
  return out;
}

absl::StatusOr<bool> SqliteJobStore::HoldHousekeeping() {
  std::lock_guard<std::mutex> lock(housekeeper_mu_);
  if (housekeeper_fd_ >= 0) return true;
  const std::string path = path_ + ".housekeeper";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;  // another process is the housekeeper
  }
  housekeeper_fd_ = fd;
  return true;
}

absl::StatusOr<int> SqliteJobStore::ForgetNodes(int64_t dead_before_ms) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::ForgetNodes('?');
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare forget nodes");
  sqlite3_bind_int64(st.get(), 1, dead_before_ms);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqlError(ops_, "forget nodes");
  return sqlite3_changes(ops_);
}

absl::StatusOr<JobRecord> SqliteJobStore::Claim(const ClaimRequest& req) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::Claim('?', /*skip_locked=*/false);
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare claim");
  sqlite3_bind_text(st.get(), 1, req.node.data(), int(req.node.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, req.now_ms);
  sqlite3_bind_int64(st.get(), 3, req.lease_ms);
  sqlite3_bind_int64(st.get(), 4, int64_t(std::min<uint64_t>(req.max_bytes, INT64_MAX)));
  sqlite3_bind_int64(st.get(), 5, req.max_running_per_tenant);
  std::vector<JobRecord> rows;
  if (auto s = Rows(ops_, st.get(), &rows, "claim"); !s.ok()) return s;
  if (rows.empty()) return absl::NotFoundError("no queued job fits");
  return std::move(rows[0]);
}

absl::StatusOr<std::vector<std::string>> SqliteJobStore::Heartbeat(const std::string& node,
                                                                   int64_t now_ms,
                                                                   int64_t lease_ms) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::Heartbeat('?');
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare heartbeat");
  sqlite3_bind_text(st.get(), 1, node.data(), int(node.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, now_ms);
  sqlite3_bind_int64(st.get(), 3, lease_ms);
  std::vector<std::string> ids;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) ids.push_back(ColumnText(st.get(), 0));
  if (rc != SQLITE_DONE) return SqlError(ops_, "heartbeat");
  return ids;
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::ExpireLeases(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  static const std::string kSql = job_sql::ExpireLeases('?');
  Stmt st(ops_, kSql.c_str());
  if (!st.ok()) return SqlError(ops_, "prepare lease expiry");
  sqlite3_bind_int64(st.get(), 1, now_ms);
  std::vector<JobRecord> rows;
  if (auto s = Rows(ops_, st.get(), &rows, "lease expiry"); !s.ok()) return s;
  return rows;
}

absl::StatusOr<JobRecord> SqliteJobStore::FindByRequest(const std::string& tenant,
                                                        const std::string& request_id) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  static const std::string kSql = absl::StrCat("SELECT ", JobColumnList(true),
                                               " FROM jobs WHERE tenant = ?1 AND request_id = ?2 "
                                               "AND request_id != ''");
  Stmt st(reader_, kSql.c_str());
  if (!st.ok()) return SqlError(reader_, "prepare find by request");
  sqlite3_bind_text(st.get(), 1, tenant.data(), int(tenant.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, request_id.data(), int(request_id.size()), SQLITE_STATIC);
  std::vector<JobRecord> rows;
  if (auto s = Rows(reader_, st.get(), &rows, "find by request"); !s.ok()) return s;
  if (rows.empty())
    return absl::NotFoundError(absl::StrCat("no job of request id '", request_id, "'"));
  return std::move(rows[0]);
}

absl::Status SqliteJobStore::Apply(const Change& c) {
  if (c.cancel) {
    static const std::string kCancel = job_sql::RequestCancel('?');
    Stmt st(db_, kCancel.c_str());
    if (!st.ok()) return SqlError(db_, "prepare cancel");
    sqlite3_bind_text(st.get(), 1, c.record.id.data(), int(c.record.id.size()), SQLITE_STATIC);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqlError(db_, "cancel job");
    if (sqlite3_changes(db_) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", c.record.id, " is final or has no row: nothing to cancel"));
    }
    return absl::OkStatus();
  }
  if (c.remove) {
    Stmt st(db_, "DELETE FROM jobs WHERE id = ?1;");
    if (!st.ok()) return SqlError(db_, "prepare delete");
    sqlite3_bind_text(st.get(), 1, c.record.id.data(), int(c.record.id.size()), SQLITE_STATIC);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return SqlError(db_, "delete job");
    return absl::OkStatus();
  }
  // An upsert on the id only: a row that collides with another job's (tenant, request_id)
  // fails instead of replacing it.
  static const std::string kSql = [] {
    std::string sql = absl::StrCat("INSERT INTO jobs (", JobColumnList(), ") VALUES (");
    for (int i = 0; i < kJobColumnCount; ++i) absl::StrAppend(&sql, i ? ", " : "", "?", i + 1);
    absl::StrAppend(&sql, ") ON CONFLICT (id) DO UPDATE SET ");
    bool first = true;
    for (int i = 0; i < kJobColumnCount; ++i) {
      if (i == 0 || i == kRequestColumn) continue;
      absl::StrAppend(&sql, first ? "" : ", ", kJobColumns[i].name, " = excluded.",
                      kJobColumns[i].name);
      first = false;
    }
    return sql + ";";
  }();
  const std::vector<ColumnValue> row = JobRow(c.record);
  if (c.fenced || c.if_queued) {
    static const std::string kFenced = job_sql::FencedUpdate('?');
    static const std::string kIfQueued = job_sql::QueuedUpdate('?');
    static const std::vector<int> kCols = job_sql::FencedColumns();
    Stmt st(db_, (c.fenced ? kFenced : kIfQueued).c_str());
    if (!st.ok()) return SqlError(db_, "prepare fenced put");
    Bind(st.get(), 1, JobColumn::kText, row[0]);
    int i = 2;
    for (int col : kCols) Bind(st.get(), i++, kJobColumns[col].type, row[col]);
    if (c.fenced) {
      sqlite3_bind_int64(st.get(), i++, c.fence.attempt);
      sqlite3_bind_text(st.get(), i++, c.fence.node.data(), int(c.fence.node.size()),
                        SQLITE_STATIC);
    }
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      return SqlError(db_, absl::StrCat("fenced put of job ", c.record.id));
    }
    if (sqlite3_changes(db_) != 1 && c.if_queued) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", c.record.id, " is no longer QUEUED"));
    }
    if (sqlite3_changes(db_) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("fenced: job ", c.record.id, " is not RUNNING under attempt ",
                       c.fence.attempt, " of node ", c.fence.node));
    }
    return absl::OkStatus();
  }
  Stmt st(db_, kSql.c_str());
  if (!st.ok()) return SqlError(db_, "prepare put");
  for (int i = 0; i < kJobColumnCount; ++i) Bind(st.get(), i + 1, kJobColumns[i].type, row[i]);
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return SqlError(db_, absl::StrCat("put job ", c.record.id));
  }
  return absl::OkStatus();
}

absl::Status SqliteJobStore::CommitBatch(const std::deque<Change>& batch,
                                         std::vector<absl::Status>& results) {
  absl::Status tx = Exec(db_, "BEGIN IMMEDIATE;");
  if (!tx.ok()) return absl::UnavailableError(tx.message());
  for (size_t i = 0; i < batch.size(); ++i) {
    Exec(db_, "SAVEPOINT change;").IgnoreError();
    results[i] = Apply(batch[i]);
    Exec(db_, results[i].ok() ? "RELEASE change;" : "ROLLBACK TO change; RELEASE change;")
        .IgnoreError();
  }
  tx = Exec(db_, "COMMIT;");
  if (!tx.ok()) {
    Exec(db_, "ROLLBACK;").IgnoreError();
    return absl::UnavailableError(tx.message());
  }
  return absl::OkStatus();
}

}  // namespace prover::server
