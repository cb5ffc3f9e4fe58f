#include "server/job_store.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

std::string TempDb(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p.string();
}

JobRecord Sample(const std::string& id) {
  JobRecord r;
  r.id = id;
  r.tenant = "t";
  r.request_id = "rid-" + id;
  r.content_hash = "ab";
  r.state = v1::SUCCEEDED;
  r.workload = "fibonacci";
  r.priority = -3;
  r.engine = "cpu";
  r.attempts = 2;
  r.created_ms = 1000;
  r.started_ms = 1001;
  r.finished_ms = 1002;
  r.deadline_ms = 5000;
  r.proof_bytes = 12345;
  r.proof_sha256 = "ff";
  r.prove_seconds = 1.5;
  r.security_bits = 100;
  r.request = std::string("\0\1binary", 8);
  r.input_sha256 = "cd";
  r.input_bytes = 77;
  r.estimated_bytes = uint64_t{1} << 40;
  r.crashes = 2;
  r.queued_ms = 1234567;
  r.cancel_requested = true;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

TEST(JobStore, RowsSurviveReopen) {
  const std::string path = TempDb("jobstore_reopen");
  {
    auto store = JobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->schema_version(), JobStore::LatestSchemaVersion());
    absl::Status result = absl::UnknownError("not called");
    (*store)->Put(Sample("a"), [&](absl::Status s) { result = s; });
    (*store)->Put(Sample("b"));
    (*store)->Delete("b");
    (*store)->Flush();
    EXPECT_TRUE(result.ok()) << result;
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto rows = (*store)->LoadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const JobRecord& r = (*rows)[0];
  const JobRecord want = Sample("a");
  EXPECT_EQ(r.id, want.id);
  EXPECT_EQ(r.state, want.state);
  EXPECT_EQ(r.priority, want.priority);
  EXPECT_EQ(r.attempts, want.attempts);
  EXPECT_EQ(r.deadline_ms, want.deadline_ms);
  EXPECT_TRUE(r.request.empty()) << "the request stays on disk";
  EXPECT_EQ(r.request_bytes, want.request.size());
  EXPECT_EQ(*(*store)->LoadRequest("a"), want.request);
  EXPECT_EQ((*store)->LoadRequest("b").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.estimated_bytes, want.estimated_bytes);
  EXPECT_EQ(r.crashes, 2u);
  EXPECT_EQ(r.queued_ms, 1234567);
  EXPECT_TRUE(r.cancel_requested);
  EXPECT_EQ(r.trace_id, want.trace_id);
  EXPECT_DOUBLE_EQ(r.prove_seconds, want.prove_seconds);
}

// Later writes of a job come from its in-memory record, which no longer holds the request:
// they must leave the stored request alone.
TEST(JobStore, UpdatesKeepTheRequestOfTheFirstWrite) {
  const std::string path = TempDb("jobstore_request");
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok());
  JobRecord r = Sample("a");
  (*store)->Put(r);
  r.request.clear();
  r.state = v1::SUCCEEDED;
  (*store)->Put(r);
  (*store)->Flush();
  EXPECT_EQ(*(*store)->LoadRequest("a"), Sample("a").request);
}

// A version-1 database (before resource governance) gains the new columns with their
// defaults, and its jobs keep their order.
TEST(JobStore, MigratesAVersionOneDatabase) {
  const std::string path = TempDb("jobstore_v1");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1_schema =
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, request_id TEXT NOT NULL,"
        " content_hash TEXT NOT NULL, state INTEGER NOT NULL, cause INTEGER NOT NULL, error TEXT"
        " NOT NULL, workload TEXT NOT NULL, priority INTEGER NOT NULL, engine TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL,"
        " finished_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL, proof_bytes INTEGER NOT"
        " NULL, proof_sha256 TEXT NOT NULL, prove_seconds REAL NOT NULL, security_bits INTEGER"
        " NOT NULL, request BLOB NOT NULL, input_sha256 TEXT NOT NULL, input_bytes INTEGER NOT"
        " NULL, estimated_bytes INTEGER NOT NULL);"
        "INSERT INTO jobs VALUES ('old', 't', '', 'h', 1, 0, '', 'fibonacci', 0, '', 0, 42, 0, 0,"
        " 0, 0, '', 0, 0, x'0102', '', 0, 0);"
        "PRAGMA user_version = 1;";
    ASSERT_EQ(sqlite3_exec(db, v1_schema, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto rows = (*store)->LoadAll();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].queued_ms, 42);
  EXPECT_EQ((*rows)[0].crashes, 0u);
  EXPECT_FALSE((*rows)[0].cancel_requested);
  EXPECT_EQ((*rows)[0].request_bytes, 2u);
}

TEST(JobStore, ConcurrentPutsShareTransactions) {
  const std::string path = TempDb("jobstore_group");
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        (*store)->Put(Sample("j" + std::to_string(t) + "_" + std::to_string(i)),
                      [&](absl::Status s) { ok += s.ok(); });
      }
    });
  }
  for (auto& th : threads) th.join();
  (*store)->Flush();
  EXPECT_EQ(ok.load(), 400);
  const auto stats = (*store)->stats();
  EXPECT_EQ(stats.changes, 400u);
  EXPECT_LT(stats.transactions, 400u);  // group commit
  EXPECT_EQ((*store)->LoadAll()->size(), 400u);
}

TEST(JobStore, OneFailingChangeFailsAlone) {
  auto store = JobStore::Open(TempDb("jobstore_unique"));
  ASSERT_TRUE(store.ok());
  JobRecord a = Sample("a"), b = Sample("b"), c = Sample("c");
  b.request_id = a.request_id;  // same tenant and request id: the unique index refuses it
  absl::Status sa, sb, sc;
  (*store)->Put(a, [&](absl::Status s) { sa = s; });
  (*store)->Put(b, [&](absl::Status s) { sb = s; });
  (*store)->Put(c, [&](absl::Status s) { sc = s; });
  (*store)->Flush();
  EXPECT_TRUE(sa.ok());
  EXPECT_FALSE(sb.ok());
  EXPECT_TRUE(sc.ok());
  EXPECT_EQ((*store)->LoadAll()->size(), 2u);
}

TEST(JobStore, RefusesANewerSchema) {
  const std::string path = TempDb("jobstore_newer");
  { ASSERT_TRUE(JobStore::Open(path).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(store.status().message()).find("newer"), std::string::npos);
}

}  // namespace
}  // namespace prover::server
