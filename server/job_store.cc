#include "server/job_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace prover::server {
namespace {

// Migrations in order: entry i brings the schema from version i to i + 1. Never edit a
// released entry; append a new one.
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
};

constexpr char kColumns[] =
    "id, tenant, request_id, content_hash, state, cause, error, workload, priority, engine, "
    "attempts, created_ms, started_ms, finished_ms, deadline_ms, proof_bytes, proof_sha256, "
    "prove_seconds, security_bits, request, input_sha256, input_bytes, estimated_bytes, crashes, "
    "queued_ms, cancel_requested, trace_id";

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

std::string Text(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(s, i)))
           : std::string();
}

}  // namespace

int JobStore::LatestSchemaVersion() { return int(std::size(kMigrations)); }

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::InternalError(
        absl::StrCat(path, ": cannot open the job database: ", sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<JobStore> store(new JobStore(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA foreign_keys=ON;"}) {
    if (auto s = Exec(db, pragma); !s.ok()) {
      return absl::InternalError(absl::StrCat(path, ": ", s.message()));
    }
  }
  if (auto s = store->Migrate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  if (sqlite3_open_v2(path.c_str(), &store->reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(path, ": cannot open a read connection"));
  }
  sqlite3_busy_timeout(store->reader_, 5000);
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

JobStore::~JobStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

absl::Status JobStore::Migrate() {
  int version = 0;
  {
    Stmt st(db_, "PRAGMA user_version;");
    if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return SqlError(db_, "user_version");
    version = sqlite3_column_int(st.get(), 0);
  }
  const int latest = LatestSchemaVersion();
  if (version > latest) {
    return absl::FailedPreconditionError(absl::StrCat("job database schema version ", version,
                                                      " is newer than this proverd supports (",
                                                      latest, "); upgrade proverd"));
  }
  for (int v = version; v < latest; ++v) {
    if (auto s = Exec(db_, "BEGIN IMMEDIATE;"); !s.ok()) return s;
    absl::Status s = Exec(db_, kMigrations[v]);
    if (s.ok()) s = Exec(db_, absl::StrCat("PRAGMA user_version = ", v + 1, ";").c_str());
    if (s.ok()) s = Exec(db_, "COMMIT;");
    if (!s.ok()) {
      Exec(db_, "ROLLBACK;").IgnoreError();
      return absl::InternalError(absl::StrCat("migration to schema ", v + 1, ": ", s.message()));
    }
  }
  schema_version_ = latest;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobRecord>> JobStore::LoadAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string columns = kColumns;
  columns.replace(columns.find("request,"), 8, "length(request),");
  Stmt st(db_, absl::StrCat("SELECT ", columns, " FROM jobs ORDER BY created_ms, id;").c_str());
  if (!st.ok()) return SqlError(db_, "load jobs");
  std::vector<JobRecord> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = st.get();
    JobRecord r;
    int i = 0;
    r.id = Text(s, i++);
    r.tenant = Text(s, i++);
    r.request_id = Text(s, i++);
    r.content_hash = Text(s, i++);
    r.state = static_cast<v1::JobState>(sqlite3_column_int(s, i++));
    r.cause = static_cast<v1::FailureCause>(sqlite3_column_int(s, i++));
    r.error = Text(s, i++);
    r.workload = Text(s, i++);
    r.priority = sqlite3_column_int(s, i++);
    r.engine = Text(s, i++);
    r.attempts = uint32_t(sqlite3_column_int64(s, i++));
    r.created_ms = sqlite3_column_int64(s, i++);
    r.started_ms = sqlite3_column_int64(s, i++);
    r.finished_ms = sqlite3_column_int64(s, i++);
    r.deadline_ms = sqlite3_column_int64(s, i++);
    r.proof_bytes = uint64_t(sqlite3_column_int64(s, i++));
    r.proof_sha256 = Text(s, i++);
    r.prove_seconds = sqlite3_column_double(s, i++);
    r.security_bits = uint32_t(sqlite3_column_int64(s, i++));
    r.request_bytes = uint64_t(sqlite3_column_int64(s, i++));
    r.input_sha256 = Text(s, i++);
    r.input_bytes = uint64_t(sqlite3_column_int64(s, i++));
    r.estimated_bytes = uint64_t(sqlite3_column_int64(s, i++));
    r.crashes = uint32_t(sqlite3_column_int64(s, i++));
    r.queued_ms = sqlite3_column_int64(s, i++);
    r.cancel_requested = sqlite3_column_int(s, i++) != 0;
    r.trace_id = Text(s, i++);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "load jobs");
  return out;
}

absl::StatusOr<std::string> JobStore::LoadRequest(const std::string& id) {
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

void JobStore::Put(const JobRecord& r, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Change{false, r, std::move(done)});
    ++enqueued_;
  }
  cv_.notify_one();
}

void JobStore::Delete(const std::string& id, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Change c;
    c.remove = true;
    c.record.id = id;
    c.done = std::move(done);
    queue_.push_back(std::move(c));
    ++enqueued_;
  }
  cv_.notify_one();
}

void JobStore::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  flushed_cv_.wait(lock, [&] { return committed_ >= target; });
}

JobStore::Stats JobStore::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status JobStore::Apply(const Change& c) {
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
    std::string sql = absl::StrCat(
        "INSERT INTO jobs (", kColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) ON CONFLICT (id) DO UPDATE SET ");
    std::string_view cols = kColumns;
    bool first = true;
    while (!cols.empty()) {
      const size_t comma = cols.find(',');
      std::string_view c = cols.substr(0, comma);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      if (c != "id" && c != "request") {
        absl::StrAppend(&sql, first ? "" : ", ", std::string(c), " = excluded.", std::string(c));
        first = false;
      }
      cols = comma == std::string_view::npos ? std::string_view() : cols.substr(comma + 1);
    }
    return sql + ";";
  }();
  Stmt st(db_, kSql.c_str());
  if (!st.ok()) return SqlError(db_, "prepare put");
  sqlite3_stmt* s = st.get();
  const JobRecord& r = c.record;
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_STATIC);
  };
  int i = 1;
  text(i++, r.id);
  text(i++, r.tenant);
  text(i++, r.request_id);
  text(i++, r.content_hash);
  sqlite3_bind_int(s, i++, int(r.state));
  sqlite3_bind_int(s, i++, int(r.cause));
  text(i++, r.error);
  text(i++, r.workload);
  sqlite3_bind_int(s, i++, r.priority);
  text(i++, r.engine);
  sqlite3_bind_int64(s, i++, r.attempts);
  sqlite3_bind_int64(s, i++, r.created_ms);
  sqlite3_bind_int64(s, i++, r.started_ms);
  sqlite3_bind_int64(s, i++, r.finished_ms);
  sqlite3_bind_int64(s, i++, r.deadline_ms);
  sqlite3_bind_int64(s, i++, int64_t(r.proof_bytes));
  text(i++, r.proof_sha256);
  sqlite3_bind_double(s, i++, r.prove_seconds);
  sqlite3_bind_int64(s, i++, r.security_bits);
  sqlite3_bind_blob(s, i++, r.request.data(), int(r.request.size()), SQLITE_STATIC);
  text(i++, r.input_sha256);
  sqlite3_bind_int64(s, i++, int64_t(r.input_bytes));
  sqlite3_bind_int64(s, i++, int64_t(r.estimated_bytes));
  sqlite3_bind_int64(s, i++, r.crashes);
  sqlite3_bind_int64(s, i++, r.queued_ms);
  sqlite3_bind_int(s, i++, r.cancel_requested ? 1 : 0);
  text(i++, r.trace_id);
  if (sqlite3_step(s) != SQLITE_DONE) return SqlError(db_, absl::StrCat("put job ", r.id));
  return absl::OkStatus();
}

void JobStore::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::deque<Change> batch;
    batch.swap(queue_);
    lock.unlock();

    std::vector<absl::Status> results(batch.size());
    absl::Status tx = Exec(db_, "BEGIN IMMEDIATE;");
    if (tx.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        Exec(db_, "SAVEPOINT change;").IgnoreError();
        results[i] = Apply(batch[i]);
        Exec(db_, results[i].ok() ? "RELEASE change;" : "ROLLBACK TO change; RELEASE change;")
            .IgnoreError();
      }
      tx = Exec(db_, "COMMIT;");
      if (!tx.ok()) Exec(db_, "ROLLBACK;").IgnoreError();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!tx.ok()) results[i] = tx;
      if (batch[i].done) batch[i].done(results[i]);
    }

    lock.lock();
    committed_ += batch.size();
    ++stats_.transactions;
    stats_.changes += batch.size();
    flushed_cv_.notify_all();
  }
}

}  // namespace prover::server
