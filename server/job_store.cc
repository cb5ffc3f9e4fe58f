#include "server/job_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/postgres_job_store.h"
#include "server/sqlite_job_store.h"

namespace prover::server {

const JobColumn kJobColumns[] = {
    {"id", JobColumn::kText},
    {"tenant", JobColumn::kText},
    {"request_id", JobColumn::kText},
    {"content_hash", JobColumn::kText},
    {"state", JobColumn::kInt},
    {"cause", JobColumn::kInt},
    {"error", JobColumn::kText},
    {"workload", JobColumn::kText},
    {"priority", JobColumn::kInt},
    {"engine", JobColumn::kText},
    {"attempts", JobColumn::kInt},
    {"created_ms", JobColumn::kInt},
    {"started_ms", JobColumn::kInt},
    {"finished_ms", JobColumn::kInt},
    {"deadline_ms", JobColumn::kInt},
    {"proof_bytes", JobColumn::kInt},
    {"proof_sha256", JobColumn::kText},
    {"prove_seconds", JobColumn::kReal},
    {"security_bits", JobColumn::kInt},
    {"request", JobColumn::kBlob},
    {"input_sha256", JobColumn::kText},
    {"input_bytes", JobColumn::kInt},
    {"estimated_bytes", JobColumn::kInt},
    {"crashes", JobColumn::kInt},
    {"queued_ms", JobColumn::kInt},
    {"cancel_requested", JobColumn::kInt},
    {"trace_id", JobColumn::kText},
    {"lease_node", JobColumn::kText},
    {"lease_expires_ms", JobColumn::kInt},
    {"proven_security_bits", JobColumn::kInt},
};
const int kJobColumnCount = int(std::size(kJobColumns));
const int kRequestColumn = 19;

std::string JobColumnList(bool request_length) {
  std::string out;
  for (int i = 0; i < kJobColumnCount; ++i) {
    absl::StrAppend(
        &out, i ? ", " : "",
        request_length && i == kRequestColumn ? "length(request)" : kJobColumns[i].name);
  }
  return out;
}

std::vector<ColumnValue> JobRow(const JobRecord& r) {
  std::vector<ColumnValue> v(kJobColumnCount);
  int i = 0;
  auto text = [&](const std::string& s) { v[i++].s = s; };
  auto num = [&](int64_t x) { v[i++].i = x; };
  text(r.id);
  text(r.tenant);
  text(r.request_id);
  text(r.content_hash);
  num(int(r.state));
  num(int(r.cause));
  text(r.error);
  text(r.workload);
  num(r.priority);
  text(r.engine);
  num(r.attempts);
  num(r.created_ms);
  num(r.started_ms);
  num(r.finished_ms);
  num(r.deadline_ms);
  num(int64_t(r.proof_bytes));
  text(r.proof_sha256);
  v[i++].d = r.prove_seconds;
  num(r.security_bits);
  text(r.request);
  text(r.input_sha256);
  num(int64_t(r.input_bytes));
  num(int64_t(r.estimated_bytes));
  num(r.crashes);
  num(r.queued_ms);
  num(r.cancel_requested ? 1 : 0);
  text(r.trace_id);
  text(r.lease_node);
  num(r.lease_expires_ms);
  num(r.proven_security_bits);
  return v;
}

JobRecord JobFromRow(const RowReader& row) {
  JobRecord r;
  int i = 0;
  r.id = row.Text(i++);
  r.tenant = row.Text(i++);
  r.request_id = row.Text(i++);
  r.content_hash = row.Text(i++);
  r.state = static_cast<v1::JobState>(row.Int(i++));
  r.cause = static_cast<v1::FailureCause>(row.Int(i++));
  r.error = row.Text(i++);
  r.workload = row.Text(i++);
  r.priority = int32_t(row.Int(i++));
  r.engine = row.Text(i++);
  r.attempts = uint32_t(row.Int(i++));
  r.created_ms = row.Int(i++);
  r.started_ms = row.Int(i++);
  r.finished_ms = row.Int(i++);
  r.deadline_ms = row.Int(i++);
  r.proof_bytes = uint64_t(row.Int(i++));
  r.proof_sha256 = row.Text(i++);
  r.prove_seconds = row.Real(i++);
  r.security_bits = uint32_t(row.Int(i++));
  r.request_bytes = uint64_t(row.Int(i++));  // length(request)
  r.input_sha256 = row.Text(i++);
  r.input_bytes = uint64_t(row.Int(i++));
  r.estimated_bytes = uint64_t(row.Int(i++));
  r.crashes = uint32_t(row.Int(i++));
  r.queued_ms = row.Int(i++);
  r.cancel_requested = row.Int(i++) != 0;
  r.trace_id = row.Text(i++);
  r.lease_node = row.Text(i++);
  r.lease_expires_ms = row.Int(i++);
  r.proven_security_bits = uint32_t(row.Int(i++));
  return r;
}

namespace job_sql {
namespace {
std::string P(char placeholder, int i) { return absl::StrCat(std::string(1, placeholder), i); }
// A number parameter where the context does not give its type (PostgreSQL infers none).
std::string N(char placeholder, int i) {
  return absl::StrCat("CAST(", P(placeholder, i), " AS BIGINT)");
}
constexpr int kQueued = v1::QUEUED, kRunning = v1::RUNNING;
}  // namespace

std::vector<int> FencedColumns() {
  std::vector<int> out;
  for (int i = 1; i < kJobColumnCount; ++i) {
    const std::string_view name = kJobColumns[i].name;
    // The request is fixed; the attempt and the lease are the claim's and the heartbeats'
    // (a holder's record has the lease of its claim, older than its last heartbeat).
    if (i == kRequestColumn || name == "attempts" || name == "lease_node" ||
        name == "lease_expires_ms") {
      continue;
    }
    out.push_back(i);
  }
  return out;
}

namespace {

// "UPDATE jobs SET" every column of FencedColumns() from parameters 2.., a cancel kept once
// set, and the lease ended by a write that leaves RUNNING.
std::string GuardedSet(char p) {
  const std::vector<int> cols = FencedColumns();
  std::string sql = "UPDATE jobs SET ";
  for (size_t k = 0; k < cols.size(); ++k) {
    const std::string name = kJobColumns[cols[k]].name;
    if (name == "cancel_requested") {
      // A cancel another node asked for (RequestCancel) stays, whatever the holder knew.
      absl::StrAppend(&sql, k ? ", " : "", name, " = CASE WHEN cancel_requested <> 0 THEN ",
                      "cancel_requested ELSE ", P(p, int(k) + 2), " END");
      continue;
    }
    absl::StrAppend(&sql, k ? ", " : "", name, " = ", P(p, int(k) + 2));
  }
  // A write that leaves RUNNING (a final state, a requeue) ends the lease.
  int state_param = 0;
  for (size_t k = 0; k < cols.size(); ++k) {
    if (std::string_view(kJobColumns[cols[k]].name) == "state") state_param = int(k) + 2;
  }
  absl::StrAppend(&sql, ", lease_node = CASE WHEN ", N(p, state_param), " = ", kRunning,
                  " THEN lease_node ELSE '' END, lease_expires_ms = CASE WHEN ", N(p, state_param),
                  " = ", kRunning, " THEN lease_expires_ms ELSE 0 END");
  return sql;
}

}  // namespace

std::string FencedUpdate(char p) {
  const int n = int(FencedColumns().size()) + 1;
  return absl::StrCat(GuardedSet(p), " WHERE id = ", P(p, 1), " AND state = ", kRunning,
                      " AND attempts = ", P(p, n + 1), " AND lease_node = ", P(p, n + 2));
}

std::string QueuedUpdate(char p) {
  return absl::StrCat(GuardedSet(p), " WHERE id = ", P(p, 1), " AND state = ", kQueued);
}

std::string RequestCancel(char p) {
  return absl::StrCat("UPDATE jobs SET cancel_requested = 1 WHERE id = ", P(p, 1),
                      " AND state IN (", kQueued, ", ", kRunning, ")");
}

// The next job in the cluster-wide order, in time that grows with the number of tenants
// with queued jobs, not with the queue: the tenants are walked on the index
// (state, tenant, ...) one step each (a loose index scan), each tenant's head is its first
// fitting job on the same index, and only the heads are ordered: the tenant with the fewest
// running jobs, then priority, then age.
std::string Claim(char p, bool skip_locked) {
  return absl::StrCat(
      "WITH RECURSIVE tenants(tenant) AS (SELECT min(tenant) FROM jobs WHERE state = ", kQueued,
      " UNION ALL SELECT (SELECT min(tenant) FROM jobs WHERE state = ", kQueued,
      " AND tenant > tenants.tenant) FROM tenants WHERE tenants.tenant IS NOT NULL), "
      "heads(tenant, id) AS (SELECT tenant, (SELECT h.id FROM jobs h WHERE h.state = ",
      kQueued, " AND h.tenant = tenants.tenant AND h.estimated_bytes <= ", P(p, 4),
      " ORDER BY h.priority DESC, h.queued_ms, h.id LIMIT 1) FROM tenants WHERE "
      "tenants.tenant IS NOT NULL), running(tenant, n) AS (SELECT tenant, count(*) FROM jobs "
      "WHERE state = ",
      kRunning, " GROUP BY tenant) UPDATE jobs SET state = ", kRunning,
      ", attempts = attempts + 1, started_ms = ", P(p, 2), ", lease_node = ", P(p, 1),
      ", lease_expires_ms = ", N(p, 2), " + ", N(p, 3), " WHERE state = ", kQueued,
      " AND id = (SELECT j.id FROM heads JOIN jobs j ON j.id = heads.id LEFT JOIN running r ON "
      "r.tenant = heads.tenant WHERE (",
      N(p, 5), " = 0 OR coalesce(r.n, 0) < ", N(p, 5),
      ") ORDER BY coalesce(r.n, 0), j.priority DESC, j.queued_ms, j.id LIMIT 1",
      skip_locked ? " FOR UPDATE OF j SKIP LOCKED" : "", ") RETURNING ", JobColumnList(true));
}

std::string Heartbeat(char p) {
  return absl::StrCat("UPDATE jobs SET lease_expires_ms = ", N(p, 2), " + ", N(p, 3),
                      " WHERE state = ", kRunning, " AND lease_node = ", P(p, 1), " RETURNING id");
}

std::string ExpireLeases(char p) {
  return absl::StrCat("UPDATE jobs SET state = ", kQueued,
                      ", lease_node = '', lease_expires_ms = 0, crashes = crashes + 1, "
                      "queued_ms = ",
                      P(p, 1), " WHERE state = ", kRunning,
                      " AND lease_node <> '' AND lease_expires_ms < ", P(p, 1), " RETURNING ",
                      JobColumnList(true));
}

std::string PutNode(char p) {
  std::string values;
  for (int i = 1; i <= 8; ++i) absl::StrAppend(&values, i > 1 ? ", " : "", P(p, i));
  return absl::StrCat("INSERT INTO nodes (", kNodeColumns, ") VALUES (", values,
                      ") ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, engines = "
                      "EXCLUDED.engines, version = EXCLUDED.version, memory_bytes = "
                      "EXCLUDED.memory_bytes, heartbeat_ms = EXCLUDED.heartbeat_ms, draining = "
                      "EXCLUDED.draining");
}

std::string Nodes(char p) {
  return absl::StrCat("SELECT ", kNodeColumns, " FROM nodes WHERE heartbeat_ms >= ", P(p, 1),
                      " ORDER BY id");
}

std::string ForgetNodes(char p) {
  return absl::StrCat("DELETE FROM nodes WHERE heartbeat_ms < ", P(p, 1));
}
}  // namespace job_sql

int JobStore::LatestSchemaVersion() { return 7; }

std::string JobStore::Redacted(const std::string& database) {
  // scheme://user:password@host...: the password goes; ?password=... too.
  std::string out = database;
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t at = out.find('@', scheme + 3);
    const size_t colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t pw = out.find("password="); pw != std::string::npos;
       pw = out.find("password=", pw + 9)) {
    const size_t end = out.find('&', pw);
    out.replace(pw + 9, (end == std::string::npos ? out.size() : end) - pw - 9, "***");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& database,
                                                         bool exclusive,
                                                         const std::string& password) {
  if (absl::StartsWith(database, "postgresql://") || absl::StartsWith(database, "postgres://")) {
    return PostgresJobStore::Open(database, exclusive, password);
  }
  if (absl::StartsWith(database, "sqlite:")) {
    const std::string path = database.substr(7);
    if (path.empty()) return absl::InvalidArgumentError("database: sqlite: needs a path");
    return SqliteJobStore::Open(path, exclusive);
  }
  if (database.find("://") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("database: '", Redacted(database),
                     "': unknown kind (use sqlite:PATH or postgresql://...)"));
  }
  if (database.empty()) return absl::InvalidArgumentError("database: empty");
  return SqliteJobStore::Open(database, exclusive);
}

JobStore::~JobStore() { StopWriter(); }

void JobStore::StartWriter() {
  writer_ = std::thread([this] { WriterLoop(); });
}

void JobStore::StopWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void JobStore::Enqueue(Change c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(c));
    ++enqueued_;
  }
  cv_.notify_one();
}

void JobStore::Put(const JobRecord& r, Done done) {
  Change c;
  c.record = r;
  c.done = std::move(done);
  Enqueue(std::move(c));
}

void JobStore::PutFenced(const JobRecord& r, Fence fence, Done done) {
  Change c;
  c.fenced = true;
  c.fence = std::move(fence);
  c.record = r;
  c.done = std::move(done);
  Enqueue(std::move(c));
}

void JobStore::PutIfQueued(const JobRecord& r, Done done) {
  Change c;
  c.if_queued = true;
  c.record = r;
  c.done = std::move(done);
  Enqueue(std::move(c));
}

void JobStore::RequestCancel(const std::string& id, Done done) {
  Change c;
  c.cancel = true;
  c.record.id = id;
  c.done = std::move(done);
  Enqueue(std::move(c));
}

void JobStore::Delete(const std::string& id, Done done) {
  Change c;
  c.remove = true;
  c.record.id = id;
  c.done = std::move(done);
  Enqueue(std::move(c));
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

void JobStore::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::deque<Change> batch;
    batch.swap(queue_);
    lock.unlock();

    std::vector<absl::Status> results(batch.size());
    const absl::Status tx = CommitBatch(batch, results);
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
