#include "server/postgres_job_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace prover::server {
namespace {

// Migrations in order: entry i brings the schema from version i to i + 1, the same
// logical columns as SQLite's entry i. Never edit a released entry; append a new one.
const char* const kMigrations[] = {
    // 1: the job table.
    R"sql(
CREATE TABLE jobs (
  id              TEXT PRIMARY KEY,
  tenant          TEXT NOT NULL,
  request_id      TEXT NOT NULL,
  content_hash    TEXT NOT NULL,
  state           BIGINT NOT NULL,
  cause           BIGINT NOT NULL,
  error           TEXT NOT NULL,
  workload        TEXT NOT NULL,
  priority        BIGINT NOT NULL,
  engine          TEXT NOT NULL,
  attempts        BIGINT NOT NULL,
  created_ms      BIGINT NOT NULL,
  started_ms      BIGINT NOT NULL,
  finished_ms     BIGINT NOT NULL,
  deadline_ms     BIGINT NOT NULL,
  proof_bytes     BIGINT NOT NULL,
  proof_sha256    TEXT NOT NULL,
  prove_seconds   DOUBLE PRECISION NOT NULL,
  security_bits   BIGINT NOT NULL,
  request         BYTEA NOT NULL,
  input_sha256    TEXT NOT NULL,
  input_bytes     BIGINT NOT NULL,
  estimated_bytes BIGINT NOT NULL
);
CREATE INDEX jobs_by_tenant ON jobs (tenant, created_ms);
CREATE UNIQUE INDEX jobs_by_request ON jobs (tenant, request_id) WHERE request_id <> '';
)sql",
    // 2: resource governance: crash counts (quarantine), queue order, durable cancels.
    R"sql(
ALTER TABLE jobs ADD COLUMN crashes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN queued_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
UPDATE jobs SET queued_ms = created_ms;
)sql",
    // 3: cluster claims: leases, and the queue's order as an index.
    R"sql(
ALTER TABLE jobs ADD COLUMN lease_node TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_queue ON jobs (state, priority, queued_ms);
)sql",
    // 4: change notifications: the id of every job inserted, changed or deleted, sent on
    // channel prover_jobs at commit (a lease extension alone is not a change).
    R"sql(
CREATE FUNCTION prover_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('prover_jobs', OLD.id);
  ELSE
    PERFORM pg_notify('prover_jobs', NEW.id);
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER jobs_notify_write AFTER INSERT OR DELETE ON jobs
  FOR EACH ROW EXECUTE FUNCTION prover_jobs_notify();
CREATE TRIGGER jobs_notify_update AFTER UPDATE OF
  tenant, request_id, content_hash, state, cause, error, workload, priority, engine, attempts,
  created_ms, started_ms, finished_ms, deadline_ms, proof_bytes, proof_sha256, prove_seconds,
  security_bits, input_sha256, input_bytes, estimated_bytes, crashes, queued_ms,
  cancel_requested, trace_id, lease_node
  ON jobs FOR EACH ROW EXECUTE FUNCTION prover_jobs_notify();
)sql",
    // 5: the nodes of a cluster.
    R"sql(
CREATE TABLE nodes (
  id           TEXT PRIMARY KEY,
  address      TEXT NOT NULL,
  engines      TEXT NOT NULL,
  version      TEXT NOT NULL,
  memory_bytes BIGINT NOT NULL,
  started_ms   BIGINT NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  draining     BIGINT NOT NULL
);
)sql",
    // 6: the claim's walk over the queue, tenant by tenant (job_sql::Claim).
    R"sql(
CREATE INDEX jobs_queue_by_tenant ON jobs (state, tenant, priority DESC, queued_ms, id);
)sql",
    // 7: the proof's proven security figure (docs/PROTOCOL.md section 2).
    R"sql(
ALTER TABLE jobs ADD COLUMN proven_security_bits BIGINT NOT NULL DEFAULT 0;
)sql",
};

// A result, cleared on scope exit.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* get() const { return r_; }
  bool ok() const {
    const ExecStatusType s = PQresultStatus(r_);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }

 private:
  PGresult* r_;
};

// UNAVAILABLE for what passes (a lost or refused connection, a server shutting down or out
// of resources, serialization failures), ALREADY_EXISTS for a unique violation, INTERNAL for
// the rest.
absl::Status PgError(PGconn* conn, const Result& r, std::string_view what) {
  const char* state = r.get() ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
  const char* detail = r.get() ? PQresultErrorMessage(r.get()) : "";
  std::string message = absl::StrCat("postgresql: ", std::string(what), ": ",
                                     detail && *detail ? detail : PQerrorMessage(conn));
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const std::string code = state ? state : "";
  if (PQstatus(conn) != CONNECTION_OK || code.empty() || code.rfind("08", 0) == 0 ||
      code.rfind("53", 0) == 0 || code.rfind("57", 0) == 0 || code == "40001" || code == "40P01" ||
      code == "55P03") {
    return absl::UnavailableError(message);
  }
  if (code == "23505") return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

absl::Status Exec(PGconn* conn, const std::string& sql) {
  Result r(PQexec(conn, sql.c_str()));
  if (!r.ok()) return PgError(conn, r, sql.substr(0, 60));
  return absl::OkStatus();
}

void Quiet(void*, const char*) {}  // notices (e.g. "relation exists, skipping") are not logged

absl::StatusOr<PGconn*> Connect(const std::string& uri, const std::string& password) {
  // Defaults first: the URI's own values, expanded from dbname, override them. Keepalives:
  // a peer that vanished is noticed in about a minute (a dead session's locks go with it).
  // `options`: the server's side of the keepalives, so that it also ends the session (and
  // releases its locks) of a proverd that vanished.
  std::vector<const char*> keys = {"connect_timeout", "application_name",    "keepalives",
                                   "keepalives_idle", "keepalives_interval", "keepalives_count",
                                   "options"};
  std::vector<const char*> values = {
      "10",
      "proverd",
      "1",
      "30",
      "10",
      "3",
      "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"};
  if (!password.empty()) {  // --database-password-file: never in a URI, never logged
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back("dbname");
  values.push_back(uri.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::UnavailableError("postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat(JobStore::Redacted(uri), ": cannot connect: ", message));
  }
  PQsetNoticeProcessor(conn, Quiet, nullptr);
  return conn;
}

// A broken connection is reset before use; false when it is still broken.
bool Ready(PGconn* conn) {
  if (PQstatus(conn) == CONNECTION_OK) return true;
  PQreset(conn);
  if (PQstatus(conn) != CONNECTION_OK) return false;
  PQsetNoticeProcessor(conn, Quiet, nullptr);
  return true;
}

// A read on `conn`: reset first when found broken, and run once more when the connection
// broke under it (a restarted server; reads are idempotent). Null when it stays down.
PGresult* Read(PGconn* conn, const std::string& sql, int n, const char* const* values,
               int result_format) {
  for (int attempt = 0;; ++attempt) {
    if (!Ready(conn)) return nullptr;
    PGresult* r =
        PQexecParams(conn, sql.c_str(), n, nullptr, values, nullptr, nullptr, result_format);
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || attempt == 1 ||
        PQstatus(conn) == CONNECTION_OK) {
      return r;
    }
    PQclear(r);
  }
}

class PgRow final : public RowReader {
 public:
  PgRow(PGresult* r, int row) : r_(r), row_(row) {}
  int64_t Int(int i) const override { return std::strtoll(PQgetvalue(r_, row_, i), nullptr, 10); }
  double Real(int i) const override { return std::strtod(PQgetvalue(r_, row_, i), nullptr); }
  std::string Text(int i) const override {
    return std::string(PQgetvalue(r_, row_, i), size_t(PQgetlength(r_, row_, i)));
  }

 private:
  PGresult* r_;
  int row_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> PostgresJobStore::Open(const std::string& uri,
                                                                 bool exclusive,
                                                                 const std::string& password) {
  static_assert(std::size(kMigrations) == 7, "JobStore::LatestSchemaVersion");
  std::unique_ptr<PostgresJobStore> store(new PostgresJobStore(uri, password));
  auto writer = Connect(uri, password);
  if (!writer.ok()) return writer.status();
  store->writer_ = *writer;
  if (exclusive) {  // before migrating: a refused process changes nothing
    // A predecessor killed a moment ago may still have its session (and lock) for a few
    // milliseconds while the server notices: wait up to 5 s before refusing.
    absl::Status s = store->TryLock();
    for (int i = 0; i < 50 && s.code() == absl::StatusCode::kFailedPrecondition; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = store->TryLock();
    }
    if (!s.ok()) return s;
    store->exclusive_ = store->locked_ = true;
  }
  if (auto s = store->Migrate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(Redacted(uri), ": ", s.message()));
  }
  auto reader = Connect(uri, password);
  if (!reader.ok()) return reader.status();
  store->reader_ = *reader;
  auto ops = Connect(uri, password);
  if (!ops.ok()) return ops.status();
  store->ops_ = *ops;
  auto claim = Connect(uri, password);
  if (!claim.ok()) return claim.status();
  store->claim_ = *claim;
  store->StartWriter();
  return std::unique_ptr<JobStore>(std::move(store));
}

PostgresJobStore::~PostgresJobStore() {
  stop_listening_ = true;
  if (listener_.joinable()) listener_.join();
  StopWriter();
  if (ops_ != nullptr) PQfinish(ops_);
  if (claim_ != nullptr) PQfinish(claim_);
  if (reader_ != nullptr) PQfinish(reader_);
  if (writer_ != nullptr) PQfinish(writer_);
}

absl::Status PostgresJobStore::Migrate() {
  const int latest = LatestSchemaVersion();
  while (true) {
    if (auto s = Exec(writer_, "BEGIN"); !s.ok()) return s;
    auto fail = [&](absl::Status s) {
      Exec(writer_, "ROLLBACK").IgnoreError();
      return s;
    };
    // Every node takes the lock before looking: one migrates, the others then see it done.
    if (auto s = Exec(writer_, absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLock, ")"));
        !s.ok()) {
      return fail(s);
    }
    if (auto s = Exec(writer_,
                      "CREATE TABLE IF NOT EXISTS prover_schema (version INTEGER NOT NULL); "
                      "INSERT INTO prover_schema SELECT 0 WHERE NOT EXISTS "
                      "(SELECT 1 FROM prover_schema)");
        !s.ok()) {
      return fail(s);
    }
    int version;
    {
      Result r(PQexec(writer_, "SELECT max(version) FROM prover_schema"));
      if (!r.ok() || PQntuples(r.get()) != 1) return fail(PgError(writer_, r, "schema version"));
      version = std::atoi(PQgetvalue(r.get(), 0, 0));
    }
    if (version > latest) {
      return fail(absl::FailedPreconditionError(
          absl::StrCat("job database schema version ", version,
                       " is newer than this proverd supports (", latest, "); upgrade proverd")));
    }
    if (version == latest) {
      schema_version_ = latest;
      return Exec(writer_, "COMMIT");
    }
    absl::Status s = Exec(writer_, kMigrations[version]);
    if (s.ok()) s = Exec(writer_, absl::StrCat("UPDATE prover_schema SET version = ", version + 1));
    if (s.ok()) s = Exec(writer_, "COMMIT");
    if (!s.ok()) {
      return fail(absl::Status(
          s.code(), absl::StrCat("migration to schema ", version + 1, ": ", s.message())));
    }
  }
}

absl::StatusOr<std::vector<JobRecord>> PostgresJobStore::LoadAll() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  static const std::string kSql =
      absl::StrCat("SELECT ", JobColumnList(true), " FROM jobs ORDER BY created_ms, id");
  Result r(Read(reader_, kSql, 0, nullptr, 0));
  if (r.get() == nullptr) return absl::UnavailableError("postgresql: the connection is down");
  if (!r.ok()) return PgError(reader_, r, "load jobs");
  std::vector<JobRecord> out;
  const int n = PQntuples(r.get());
  out.reserve(size_t(n));
  for (int i = 0; i < n; ++i) out.push_back(JobFromRow(PgRow(r.get(), i)));
  return out;
}

absl::StatusOr<std::vector<JobRecord>> PostgresJobStore::LoadJobs(
    const std::vector<std::string>& ids) {
  std::vector<JobRecord> out;
  if (ids.empty()) return out;
  std::lock_guard<std::mutex> lock(reader_mu_);
  static const std::string kSql =
      absl::StrCat("SELECT ", JobColumnList(true), " FROM jobs WHERE id = ANY($1::text[])");
  // A text[] literal: {"id1","id2"}; ids are job ids (letters and digits), quoted anyway.
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StrAppend(&array, i ? "," : "", "\"");
    for (char ch : ids[i]) {
      if (ch == '"' || ch == '\\') array += '\\';
      array += ch;
    }
    array += '"';
  }
  array += "}";
  const char* values[] = {array.c_str()};
  Result r(Read(reader_, kSql, 1, values, 0));
  if (r.get() == nullptr) return absl::UnavailableError("postgresql: the connection is down");
  if (!r.ok()) return PgError(reader_, r, "load jobs");
  const int n = PQntuples(r.get());
  out.reserve(size_t(n));
  for (int i = 0; i < n; ++i) out.push_back(JobFromRow(PgRow(r.get(), i)));
  return out;
}

absl::StatusOr<std::string> PostgresJobStore::LoadRequest(const std::string& id) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  static const std::string kSql = "SELECT request FROM jobs WHERE id = $1";
  const char* values[] = {id.c_str()};
  Result r(Read(reader_, kSql, 1, values, /*result_format=binary*/ 1));
  if (r.get() == nullptr) return absl::UnavailableError("postgresql: the connection is down");
  if (!r.ok()) return PgError(reader_, r, "load request");
  if (PQntuples(r.get()) == 0) return absl::NotFoundError(absl::StrCat("no job row '", id, "'"));
  return std::string(PQgetvalue(r.get(), 0, 0), size_t(PQgetlength(r.get(), 0, 0)));
}

absl::StatusOr<std::vector<JobRecord>> PostgresJobStore::OpsRows(
    const std::string& sql, const std::vector<std::string>& params, const char* what,
    std::vector<std::string>* ids) {
  std::vector<JobRecord> out;
  auto s = OpsQuery(sql, params, what, [&](PGresult* r) {
    for (int i = 0; i < PQntuples(r); ++i) {
      if (ids != nullptr) {
        ids->push_back(PgRow(r, i).Text(0));
      } else {
        out.push_back(JobFromRow(PgRow(r, i)));
      }
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PostgresJobStore::Listen(ChangeListener on_change) {
  if (listener_.joinable()) return absl::FailedPreconditionError("a listener is running");
  auto conn = Connect(uri_, password_);
  if (!conn.ok()) return conn.status();
  if (auto s = Exec(*conn, "LISTEN prover_jobs"); !s.ok()) {
    PQfinish(*conn);
    return s;
  }
  listener_ = std::thread([this, conn = *conn, on_change = std::move(on_change)]() mutable {
    bool lost = false;
    while (!stop_listening_) {
      if (PQstatus(conn) != CONNECTION_OK || lost) {
        // Reconnect (the server restarted, say): changes meanwhile are unknown.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!Ready(conn) || !Exec(conn, "LISTEN prover_jobs").ok()) {
          lost = true;
          continue;
        }
        lost = false;
        on_change({});
      }
      pollfd p{PQsocket(conn), POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);  // wakes to see stop_listening_
      if (ready < 0 && errno != EINTR) {
        lost = true;
        continue;
      }
      if (ready <= 0) continue;
      if (PQconsumeInput(conn) != 1) {
        lost = true;
        continue;
      }
      // This store's own writes and claims are passed over: the caller applied them when
      // they were answered. Backend PIDs are the operating system's process ids, handed out
      // in increasing order up to pid_max, so one is not soon another node's backend.
      std::vector<std::string> ids;
      while (PGnotify* n = PQnotifies(conn)) {
        if (n->be_pid == 0 || (n->be_pid != writer_pid_ && n->be_pid != claim_pid_)) {
          ids.emplace_back(n->extra);
        }
        PQfreemem(n);
      }
      if (!ids.empty()) on_change(ids);
    }
    PQfinish(conn);
  });
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresJobStore::HoldHousekeeping() {
  static const std::string kSql =
      absl::StrCat("SELECT pg_try_advisory_lock(", kHousekeepingLock, ")");
  std::lock_guard<std::mutex> lock(ops_mu_);
  if (!Ready(ops_)) {
    housekeeper_pid_ = 0;
    return absl::UnavailableError("postgresql: the connection is down");
  }
  // Held on this very session: asked again, the lock would only stack.
  if (housekeeper_pid_ != 0 && housekeeper_pid_ == PQbackendPID(ops_)) return true;
  housekeeper_pid_ = 0;
  Result r(PQexecParams(ops_, kSql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
  if (!r.ok()) return PgError(ops_, r, "housekeeping lock");
  const bool held = PQntuples(r.get()) == 1 && std::string(PQgetvalue(r.get(), 0, 0)) == "t";
  if (held) housekeeper_pid_ = PQbackendPID(ops_);
  return held;
}

absl::Status PostgresJobStore::OpsQuery(const std::string& sql,
                                        const std::vector<std::string>& params, const char* what,
                                        const std::function<void(PGresult*)>& read) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  if (!Ready(ops_)) return absl::UnavailableError("postgresql: the connection is down");
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  Result r(PQexecParams(ops_, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0));
  if (!r.ok()) return PgError(ops_, r, what);
  if (read) read(r.get());
  return absl::OkStatus();
}

absl::Status PostgresJobStore::PutNode(const NodeRecord& n) {
  static const std::string kSql = job_sql::PutNode('$');
  return OpsQuery(
      kSql,
      {n.id, n.address, n.engines, n.version, std::to_string(int64_t(n.memory_bytes)),
       std::to_string(n.started_ms), std::to_string(n.heartbeat_ms), n.draining ? "1" : "0"},
      "node", nullptr);
}

absl::StatusOr<std::vector<JobStore::NodeRecord>> PostgresJobStore::Nodes(int64_t alive_since_ms) {
  static const std::string kSql = job_sql::Nodes('$');
  std::vector<NodeRecord> out;
  auto s = OpsQuery(kSql, {std::to_string(alive_since_ms)}, "nodes", [&](PGresult* r) {
    for (int i = 0; i < PQntuples(r); ++i) {
      PgRow row(r, i);
      NodeRecord n;
      n.id = row.Text(0);
      n.address = row.Text(1);
      n.engines = row.Text(2);
      n.version = row.Text(3);
      n.memory_bytes = uint64_t(row.Int(4));
      n.started_ms = row.Int(5);
      n.heartbeat_ms = row.Int(6);
      n.draining = row.Int(7) != 0;
      out.push_back(std::move(n));
    }
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<int> PostgresJobStore::ForgetNodes(int64_t dead_before_ms) {
  static const std::string kSql = job_sql::ForgetNodes('$');
  int n = 0;
  auto s = OpsQuery(kSql, {std::to_string(dead_before_ms)}, "forget nodes",
                    [&](PGresult* r) { n = std::atoi(PQcmdTuples(r)); });
  if (!s.ok()) return s;
  return n;
}

absl::StatusOr<JobRecord> PostgresJobStore::FindByRequest(const std::string& tenant,
                                                          const std::string& request_id) {
  static const std::string kSql =
      absl::StrCat("SELECT ", JobColumnList(true),
                   " FROM jobs WHERE tenant = $1 AND request_id = $2 AND request_id <> ''");
  std::lock_guard<std::mutex> lock(reader_mu_);
  const char* values[] = {tenant.c_str(), request_id.c_str()};
  Result r(Read(reader_, kSql, 2, values, 0));
  if (r.get() == nullptr) return absl::UnavailableError("postgresql: the connection is down");
  if (!r.ok()) return PgError(reader_, r, "find by request");
  if (PQntuples(r.get()) == 0) {
    return absl::NotFoundError(absl::StrCat("no job of request id '", request_id, "'"));
  }
  return JobFromRow(PgRow(r.get(), 0));
}

absl::StatusOr<JobRecord> PostgresJobStore::Claim(const ClaimRequest& req) {
  static const std::string kSql = job_sql::Claim('$', /*skip_locked=*/true);
  static const std::string kLock = absl::StrCat("SELECT pg_advisory_xact_lock(", kClaimLock, ")");
  // Claims one at a time across the cluster: the claim statement, run after the lock is
  // held, sees every earlier claim committed, so the running counts per tenant it orders
  // and limits by are exact. A claim waits for the others at most lock_timeout; and a
  // claimer that stops in the middle (a paused process) loses its transaction, and the lock
  // with it, after 2 s instead of blocking every node's claims. Heartbeats have a connection
  // of their own. The transaction is sent in one pipeline: one round trip per claim.
  static const std::string kStatements[] = {"BEGIN",
                                            "SET LOCAL lock_timeout = '2s'",
                                            "SET LOCAL idle_in_transaction_session_timeout = '2s'",
                                            kLock,
                                            kSql,
                                            "COMMIT"};
  constexpr int kClaimStatement = 4;
  std::lock_guard<std::mutex> lock(claim_mu_);
  if (PQstatus(claim_) != CONNECTION_OK) claim_pid_ = 0;
  if (!Ready(claim_)) return absl::UnavailableError("postgresql: the connection is down");
  claim_pid_ = PQbackendPID(claim_);
  const std::string now = std::to_string(req.now_ms), lease = std::to_string(req.lease_ms),
                    max = std::to_string(std::min<uint64_t>(req.max_bytes, INT64_MAX)),
                    limit = std::to_string(req.max_running_per_tenant);
  const char* values[] = {req.node.c_str(), now.c_str(), lease.c_str(), max.c_str(), limit.c_str()};
  if (PQenterPipelineMode(claim_) != 1) {
    return absl::UnavailableError("postgresql: cannot enter pipeline mode");
  }
  bool sent = true;
  for (int i = 0; sent && i < 6; ++i) {
    sent = PQsendQueryParams(claim_, kStatements[i].c_str(), i == kClaimStatement ? 5 : 0, nullptr,
                             i == kClaimStatement ? values : nullptr, nullptr, nullptr, 0) == 1;
  }
  sent = sent && PQpipelineSync(claim_) == 1;
  absl::Status failed =
      sent ? absl::OkStatus()
           : absl::UnavailableError(absl::StrCat("postgresql: claim: ", PQerrorMessage(claim_)));
  std::vector<JobRecord> rows;
  bool broken = !sent;  // results cannot be read any further: reset below
  for (int i = 0; !broken && i < 6; ++i) {
    Result r(PQgetResult(claim_));
    if (r.get() == nullptr || PQstatus(claim_) != CONNECTION_OK) {
      failed = absl::UnavailableError(
          absl::StrCat("postgresql: a claim's results ended early: ", PQerrorMessage(claim_)));
      broken = true;
      break;
    }
    if (!r.ok() && failed.ok()) {
      failed = PQresultStatus(r.get()) == PGRES_PIPELINE_ABORTED
                   ? absl::AbortedError("claim pipeline aborted")
                   : PgError(claim_, r, "claim");
    } else if (r.ok() && i == kClaimStatement) {
      for (int k = 0; k < PQntuples(r.get()); ++k) rows.push_back(JobFromRow(PgRow(r.get(), k)));
    }
    while (PGresult* extra = PQgetResult(claim_)) PQclear(extra);  // the null that ends it
  }
  // A statement that failed (a lock wait that timed out, say) leaves the connection
  // healthy: its sync is read and the pipeline left normally.
  if (!broken) {
    Result sync(PQgetResult(claim_));
    if (sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      failed.Update(absl::UnavailableError("postgresql: a claim did not end with its sync"));
    }
  }
  if (PQexitPipelineMode(claim_) != 1) PQreset(claim_);  // results left unread: start afresh
  if (!failed.ok()) {
    // A failed statement leaves the transaction aborted (or the connection broken: the next
    // claim resets it).
    if (PQstatus(claim_) == CONNECTION_OK) Exec(claim_, "ROLLBACK").IgnoreError();
    return failed;
  }
  if (rows.empty()) return absl::NotFoundError("no queued job fits");
  return std::move(rows[0]);
}

absl::StatusOr<std::vector<std::string>> PostgresJobStore::Heartbeat(const std::string& node,
                                                                     int64_t now_ms,
                                                                     int64_t lease_ms) {
  static const std::string kSql = job_sql::Heartbeat('$');
  std::vector<std::string> ids;
  auto rows =
      OpsRows(kSql, {node, std::to_string(now_ms), std::to_string(lease_ms)}, "heartbeat", &ids);
  if (!rows.ok()) return rows.status();
  return ids;
}

absl::StatusOr<std::vector<JobRecord>> PostgresJobStore::ExpireLeases(int64_t now_ms) {
  static const std::string kSql = job_sql::ExpireLeases('$');
  return OpsRows(kSql, {std::to_string(now_ms)}, "lease expiry", nullptr);
}

namespace {

// Parameter types (pg_type OIDs), given explicitly: INSERT ... SELECT infers none.
constexpr Oid kInt8 = 20, kFloat8 = 701, kText = 25, kBytea = 17;

std::string UpsertSql(bool guarded) {
  std::string sql = absl::StrCat("INSERT INTO jobs (", JobColumnList(), ") ");
  absl::StrAppend(&sql, guarded ? "SELECT " : "VALUES (");
  for (int i = 0; i < kJobColumnCount; ++i) absl::StrAppend(&sql, i ? ", " : "", "$", i + 1);
  if (guarded) {
    // Not a second job with this (tenant, request id): no row instead of an error, so a
    // pipelined batch never aborts on it (the unique index still decides races).
    absl::StrAppend(&sql,
                    " WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE tenant = $2 AND request_id = $3"
                    " AND request_id <> '' AND id <> $1)");
  } else {
    absl::StrAppend(&sql, ")");
  }
  absl::StrAppend(&sql, " ON CONFLICT (id) DO UPDATE SET ");
  bool first = true;
  for (int i = 0; i < kJobColumnCount; ++i) {
    if (i == 0 || i == kRequestColumn) continue;
    absl::StrAppend(&sql, first ? "" : ", ", kJobColumns[i].name, " = EXCLUDED.",
                    kJobColumns[i].name);
    first = false;
  }
  return sql;
}

// One change as a statement with its parameters.
struct Statement {
  const std::string* sql = nullptr;
  const char* name = nullptr;  // the prepared statement of the pipelined path
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  std::vector<Oid> types;
};

Statement StatementOf(const JobStore::Change& c, bool guarded) {
  static const std::string kDelete = "DELETE FROM jobs WHERE id = $1";
  static const std::string kCancel = job_sql::RequestCancel('$');
  static const std::string kUpsert = UpsertSql(false), kGuarded = UpsertSql(true);
  static const std::string kFenced = job_sql::FencedUpdate('$');
  static const std::string kIfQueued = job_sql::QueuedUpdate('$');
  Statement st;
  std::vector<std::pair<JobColumn::Type, ColumnValue>> params;
  if (c.remove || c.cancel) {
    st.sql = c.cancel ? &kCancel : &kDelete;
    st.name = c.cancel ? "prover_cancel" : "prover_delete";
    ColumnValue id;
    id.s = c.record.id;
    params.push_back({JobColumn::kText, id});
  } else {
    std::vector<ColumnValue> row = JobRow(c.record);
    if (c.if_queued) {
      st.sql = &kIfQueued;
      st.name = "prover_if_queued";
      params.push_back({JobColumn::kText, row[0]});
      for (int col : job_sql::FencedColumns()) params.push_back({kJobColumns[col].type, row[col]});
    } else if (c.fenced) {
      st.sql = &kFenced;
      st.name = "prover_fenced";
      params.push_back({JobColumn::kText, row[0]});
      for (int col : job_sql::FencedColumns()) params.push_back({kJobColumns[col].type, row[col]});
      ColumnValue attempt, node;
      attempt.i = c.fence.attempt;
      node.s = c.fence.node;
      params.push_back({JobColumn::kInt, attempt});
      params.push_back({JobColumn::kText, node});
    } else {
      st.sql = guarded ? &kGuarded : &kUpsert;
      st.name = guarded ? "prover_put" : nullptr;
      for (int i = 0; i < kJobColumnCount; ++i) {
        params.push_back({kJobColumns[i].type, std::move(row[i])});
      }
    }
  }
  const size_t n = params.size();
  st.text.resize(n);
  st.values.resize(n);
  st.lengths.resize(n);
  st.formats.assign(n, 0);
  st.types.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const ColumnValue& v = params[i].second;
    switch (params[i].first) {
      case JobColumn::kInt:
        st.text[i] = std::to_string(v.i);
        st.types[i] = kInt8;
        break;
      case JobColumn::kReal:
        st.text[i] = absl::StrFormat("%.17g", v.d);
        st.types[i] = kFloat8;
        break;
      case JobColumn::kText:
        st.text[i] = v.s;
        st.types[i] = kText;
        break;
      case JobColumn::kBlob:
        st.text[i] = v.s;
        st.formats[i] = 1;  // binary: the bytes as they are
        st.types[i] = kBytea;
        break;
    }
    st.values[i] = st.text[i].c_str();
    st.lengths[i] = int(st.text[i].size());
  }
  return st;
}

// A change's outcome from its statement's result (the statement itself succeeded).
absl::Status OutcomeOf(const JobStore::Change& c, PGresult* r) {
  const bool one = std::string(PQcmdTuples(r)) == "1";
  if (c.remove || one) return absl::OkStatus();
  if (c.cancel) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", c.record.id, " is final or has no row: nothing to cancel"));
  }
  if (c.if_queued) {
    return absl::FailedPreconditionError(absl::StrCat("job ", c.record.id, " is no longer QUEUED"));
  }
  if (c.fenced) {
    return absl::FailedPreconditionError(absl::StrCat("fenced: job ", c.record.id,
                                                      " is not RUNNING under attempt ",
                                                      c.fence.attempt, " of node ", c.fence.node));
  }
  return absl::AlreadyExistsError(absl::StrCat("request_id: '", c.record.request_id, "' of tenant ",
                                               c.record.tenant, " belongs to another job"));
}

}  // namespace

absl::Status PostgresJobStore::Apply(const Change& c) {
  const Statement st = StatementOf(c, /*guarded=*/false);
  Result r(PQexecParams(writer_, st.sql->c_str(), int(st.values.size()), st.types.data(),
                        st.values.data(), st.lengths.data(), st.formats.data(), 0));
  if (!r.ok()) return PgError(writer_, r, absl::StrCat("write of job ", c.record.id));
  return OutcomeOf(c, r.get());
}

absl::Status PostgresJobStore::PipelinedBatch(const std::deque<Change>& batch,
                                              std::vector<absl::Status>& results,
                                              bool* retry_slowly) {
  *retry_slowly = false;
  if (!prepared_) {
    // Parsed and planned once per session, not once per change.
    for (const Change& c :
         {Change{true, {}, nullptr, false, {}}, Change{false, {}, nullptr, true, {}},
          Change{false, {}, nullptr, false, {}}, Change{false, {}, nullptr, false, {}, true},
          Change{false, {}, nullptr, false, {}, false, true}}) {
      const Statement st = StatementOf(c, /*guarded=*/true);
      Result r(PQprepare(writer_, st.name, st.sql->c_str(), int(st.types.size()), st.types.data()));
      if (!r.ok()) return PgError(writer_, r, absl::StrCat("prepare ", st.name));
    }
    prepared_ = true;
  }
  if (PQenterPipelineMode(writer_) != 1) {
    *retry_slowly = true;
    return absl::OkStatus();
  }
  // BEGIN, every change, COMMIT: sent at once, one round trip and one commit for the batch.
  static const std::string kBegin = "BEGIN", kCommit = "COMMIT";
  bool sent =
      PQsendQueryParams(writer_, kBegin.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  for (size_t i = 0; sent && i < batch.size(); ++i) {
    const Statement st = StatementOf(batch[i], /*guarded=*/true);
    sent = PQsendQueryPrepared(writer_, st.name, int(st.values.size()), st.values.data(),
                               st.lengths.data(), st.formats.data(), 0) == 1;
  }
  sent =
      sent &&
      PQsendQueryParams(writer_, kCommit.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
      PQpipelineSync(writer_) == 1;
  if (!sent) {
    return absl::UnavailableError(
        absl::StrCat("postgresql: sending a batch: ", PQerrorMessage(writer_)));
  }
  // One result (then a null) per statement, then the sync.
  absl::Status failed;
  const size_t statements = batch.size() + 2;
  for (size_t k = 0; k < statements; ++k) {
    Result r(PQgetResult(writer_));
    if (r.get() == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("postgresql: a batch's results ended early: ", PQerrorMessage(writer_)));
    }
    if (!r.ok() && failed.ok()) {
      failed = PQresultStatus(r.get()) == PGRES_PIPELINE_ABORTED
                   ? absl::AbortedError("pipeline aborted")
                   : PgError(writer_, r, "batch");
    } else if (r.ok() && k >= 1 && k <= batch.size()) {
      results[k - 1] = OutcomeOf(batch[k - 1], r.get());
    }
    while (PGresult* extra = PQgetResult(writer_)) PQclear(extra);  // the null that ends it
  }
  {
    Result sync(PQgetResult(writer_));
    if (sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      return absl::UnavailableError("postgresql: a batch did not end with its sync");
    }
  }
  if (PQexitPipelineMode(writer_) != 1) {
    return absl::UnavailableError(
        absl::StrCat("postgresql: leaving pipeline mode: ", PQerrorMessage(writer_)));
  }
  if (!failed.ok()) {
    // A statement failed (a race on the request index with another node, say): the
    // transaction is rolled back; the batch is done again a change at a time.
    if (failed.code() == absl::StatusCode::kUnavailable) return failed;
    Exec(writer_, "ROLLBACK").IgnoreError();
    for (auto& r : results) r = absl::OkStatus();
    *retry_slowly = true;
  }
  return absl::OkStatus();
}

absl::Status PostgresJobStore::TryLock() {
  Result r(
      PQexec(writer_, absl::StrCat("SELECT pg_try_advisory_lock(", kExclusiveLock, ")").c_str()));
  if (!r.ok() || PQntuples(r.get()) != 1) return PgError(writer_, r, "exclusive lock");
  if (std::string(PQgetvalue(r.get(), 0, 0)) != "t") {
    return absl::FailedPreconditionError(
        absl::StrCat(Redacted(uri_),
                     ": another proverd is using this job database (one process per "
                     "database; stop it or use another database)"));
  }
  return absl::OkStatus();
}

absl::Status PostgresJobStore::WriterReady() {
  if (PQstatus(writer_) != CONNECTION_OK) {
    locked_ = false;  // a session lock and prepared statements end with their session
    prepared_ = false;
    writer_pid_ = 0;
    if (!Ready(writer_)) {
      return absl::UnavailableError(
          absl::StrCat("postgresql: the connection is down: ", PQerrorMessage(writer_)));
    }
  }
  writer_pid_ = PQbackendPID(writer_);
  if (exclusive_ && !locked_) {
    if (auto s = TryLock(); !s.ok()) return absl::UnavailableError(s.message());
    locked_ = true;
  }
  return absl::OkStatus();
}

absl::Status PostgresJobStore::CommitBatch(const std::deque<Change>& batch,
                                           std::vector<absl::Status>& results) {
  if (auto s = WriterReady(); !s.ok()) return s;
  // Pipelined when the batch is of a size whose results cannot fill the socket buffers
  // while the changes are still being sent.
  if (batch.size() <= kMaxPipelinedChanges) {
    bool retry_slowly = false;
    if (auto s = PipelinedBatch(batch, results, &retry_slowly); !s.ok()) {
      // Whatever state the session was left in (pipeline mode, unread results, an aborted
      // transaction) goes with it: a new session, whose lock and statements are taken and
      // prepared again by the next batch.
      PQreset(writer_);
      prepared_ = locked_ = false;
      return s;
    }
    if (!retry_slowly) return absl::OkStatus();
  }
  return SavepointBatch(batch, results);
}

absl::Status PostgresJobStore::SavepointBatch(const std::deque<Change>& batch,
                                              std::vector<absl::Status>& results) {
  if (auto s = Exec(writer_, "BEGIN"); !s.ok()) return s;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (auto s = Exec(writer_, "SAVEPOINT change"); !s.ok()) {
      Exec(writer_, "ROLLBACK").IgnoreError();
      return s;
    }
    results[i] = Apply(batch[i]);
    const absl::Status end =
        Exec(writer_, results[i].ok() ? "RELEASE change" : "ROLLBACK TO change");
    if (!end.ok()) {
      Exec(writer_, "ROLLBACK").IgnoreError();
      return end;
    }
  }
  // A COMMIT that fails on a lost connection may have committed: the changes are reported
  // UNAVAILABLE, and a retry of a Put (an upsert) is harmless either way.
  if (auto s = Exec(writer_, "COMMIT"); !s.ok()) {
    Exec(writer_, "ROLLBACK").IgnoreError();
    return s;
  }
  return absl::OkStatus();
}

}  // namespace prover::server
