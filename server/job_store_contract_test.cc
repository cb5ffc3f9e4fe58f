// The JobStore contract (server/job_store.h), one typed suite run on SQLite and on a real
// PostgreSQL server, then what is particular to each backend.
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "server/job_store.h"
#include "server/postgres_job_store.h"
#include "tests/postgres_server.h"

namespace prover::server {
namespace {

namespace fs = std::filesystem;

std::string TempDb(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p.string();
}

struct Sqlite {
  static std::string NewDatabase(const std::string& name) { return "sqlite:" + TempDb(name); }
  static void SetSchemaVersion(const std::string& db, int version) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.substr(7).c_str(), &h), SQLITE_OK);
    const std::string sql = "PRAGMA user_version = " + std::to_string(version) + ";";
    ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
};

struct Postgres {
  static std::string NewDatabase(const std::string& name) {
    return testing::NewPostgresDatabase(name);
  }
  static void SetSchemaVersion(const std::string& db, int version) {
    ASSERT_TRUE(
        testing::PostgresExec(db, "UPDATE prover_schema SET version = " + std::to_string(version)));
  }
};

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
  r.prove_seconds = 1.0 / 3;
  r.security_bits = 100;
  r.proven_security_bits = 57;
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

std::unique_ptr<JobStore> OpenOrDie(const std::string& db) {
  auto store = JobStore::Open(db);
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  return *std::move(store);
}

template <typename Backend>
class JobStoreContract : public ::testing::Test {};
using Backends = ::testing::Types<Sqlite, Postgres>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, Sqlite> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(JobStoreContract, Backends, BackendNames);

TYPED_TEST(JobStoreContract, RowsSurviveReopen) {
  const std::string db = TypeParam::NewDatabase("reopen");
  {
    auto store = OpenOrDie(db);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), JobStore::LatestSchemaVersion());
    absl::Status result = absl::UnknownError("not called");
    store->Put(Sample("a"), [&](absl::Status s) { result = s; });
    store->Put(Sample("b"));
    store->Delete("b");
    store->Flush();
    EXPECT_TRUE(result.ok()) << result;
  }
  auto store = OpenOrDie(db);
  ASSERT_TRUE(store);
  auto rows = store->LoadAll();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const JobRecord& r = (*rows)[0];
  const JobRecord want = Sample("a");
  EXPECT_EQ(r.id, want.id);
  EXPECT_EQ(r.tenant, want.tenant);
  EXPECT_EQ(r.request_id, want.request_id);
  EXPECT_EQ(r.content_hash, want.content_hash);
  EXPECT_EQ(r.state, want.state);
  EXPECT_EQ(r.cause, want.cause);
  EXPECT_EQ(r.error, want.error);
  EXPECT_EQ(r.workload, want.workload);
  EXPECT_EQ(r.priority, want.priority);
  EXPECT_EQ(r.engine, want.engine);
  EXPECT_EQ(r.attempts, want.attempts);
  EXPECT_EQ(r.created_ms, want.created_ms);
  EXPECT_EQ(r.started_ms, want.started_ms);
  EXPECT_EQ(r.finished_ms, want.finished_ms);
  EXPECT_EQ(r.deadline_ms, want.deadline_ms);
  EXPECT_EQ(r.proof_bytes, want.proof_bytes);
  EXPECT_EQ(r.proof_sha256, want.proof_sha256);
  EXPECT_EQ(r.prove_seconds, want.prove_seconds) << "doubles round-trip exactly";
  EXPECT_EQ(r.security_bits, want.security_bits);
  EXPECT_EQ(r.proven_security_bits, want.proven_security_bits);
  EXPECT_TRUE(r.request.empty()) << "the request stays in the database";
  EXPECT_EQ(r.request_bytes, want.request.size());
  EXPECT_EQ(r.input_sha256, want.input_sha256);
  EXPECT_EQ(r.input_bytes, want.input_bytes);
  EXPECT_EQ(r.estimated_bytes, want.estimated_bytes);
  EXPECT_EQ(r.crashes, 2u);
  EXPECT_EQ(r.queued_ms, 1234567);
  EXPECT_TRUE(r.cancel_requested);
  EXPECT_EQ(r.trace_id, want.trace_id);
  EXPECT_EQ(*store->LoadRequest("a"), want.request);
  EXPECT_EQ(store->LoadRequest("b").status().code(), absl::StatusCode::kNotFound);
}

// Later writes of a job come from its in-memory record, which no longer holds the request:
// they must leave the stored request alone.
TYPED_TEST(JobStoreContract, UpdatesKeepTheRequestOfTheFirstWrite) {
  auto store = OpenOrDie(TypeParam::NewDatabase("request"));
  ASSERT_TRUE(store);
  JobRecord r = Sample("a");
  store->Put(r);
  r.request.clear();
  r.state = v1::FAILED;
  r.error = "changed";
  store->Put(r);
  store->Flush();
  EXPECT_EQ(*store->LoadRequest("a"), Sample("a").request);
  auto rows = store->LoadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state, v1::FAILED);
  EXPECT_EQ((*rows)[0].error, "changed");
}

// Every byte value, and more than a page of them.
TYPED_TEST(JobStoreContract, BinaryRequestsRoundTrip) {
  auto store = OpenOrDie(TypeParam::NewDatabase("binary"));
  ASSERT_TRUE(store);
  JobRecord r = Sample("a");
  r.request.resize(3 << 20);
  for (size_t i = 0; i < r.request.size(); ++i) r.request[i] = char((i * 7 + i / 256) & 0xff);
  store->Put(r);
  store->Flush();
  auto back = store->LoadRequest("a");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == r.request);
  EXPECT_EQ((*store->LoadAll())[0].request_bytes, r.request.size());
}

// A callback runs after its change is committed: a read on the other connection sees it.
TYPED_TEST(JobStoreContract, CallbacksRunAfterTheCommitInOrder) {
  auto store = OpenOrDie(TypeParam::NewDatabase("callbacks"));
  ASSERT_TRUE(store);
  std::vector<int> order;
  std::vector<bool> visible;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "j" + std::to_string(i);
    store->Put(Sample(id), [&, i, id](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      order.push_back(i);
      visible.push_back(store->LoadRequest(id).ok());
    });
  }
  store->Flush();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_TRUE(visible[i]) << i;
  }
}

TYPED_TEST(JobStoreContract, ConcurrentPutsShareTransactions) {
  auto store = OpenOrDie(TypeParam::NewDatabase("group"));
  ASSERT_TRUE(store);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        store->Put(Sample("j" + std::to_string(t) + "_" + std::to_string(i)),
                   [&](absl::Status s) { ok += s.ok(); });
      }
    });
  }
  for (auto& th : threads) th.join();
  store->Flush();
  EXPECT_EQ(ok.load(), 400);
  const auto stats = store->stats();
  EXPECT_EQ(stats.changes, 400u);
  EXPECT_LT(stats.transactions, 400u);  // group commit
  EXPECT_EQ(store->LoadAll()->size(), 400u);
}

// (tenant, request_id) is unique: the second job with the same pair fails alone, with
// ALREADY_EXISTS; the same request id of another tenant, and empty request ids, are fine.
TYPED_TEST(JobStoreContract, OneFailingChangeFailsAlone) {
  auto store = OpenOrDie(TypeParam::NewDatabase("unique"));
  ASSERT_TRUE(store);
  JobRecord a = Sample("a"), b = Sample("b"), c = Sample("c"), d = Sample("d"), e = Sample("e"),
            f = Sample("f");
  b.request_id = a.request_id;
  d.request_id = a.request_id;
  d.tenant = "other";
  e.request_id = "";
  f.request_id = "";
  absl::Status sa, sb, sc, sd, se, sf;
  store->Put(a, [&](absl::Status s) { sa = s; });
  store->Put(b, [&](absl::Status s) { sb = s; });
  store->Put(c, [&](absl::Status s) { sc = s; });
  store->Put(d, [&](absl::Status s) { sd = s; });
  store->Put(e, [&](absl::Status s) { se = s; });
  store->Put(f, [&](absl::Status s) { sf = s; });
  store->Flush();
  EXPECT_TRUE(sa.ok()) << sa;
  EXPECT_EQ(sb.code(), absl::StatusCode::kAlreadyExists) << sb;
  EXPECT_TRUE(sc.ok()) << sc;
  EXPECT_TRUE(sd.ok()) << sd;
  EXPECT_TRUE(se.ok()) << se;
  EXPECT_TRUE(sf.ok()) << sf;
  EXPECT_EQ(store->LoadAll()->size(), 5u);
}

// Two nodes writing jobs with the same (tenant, request id) at the same moment: exactly one
// row per pair; the other write fails ALREADY_EXISTS, alone (its batch's other changes
// commit).
TYPED_TEST(JobStoreContract, TwoNodesRacingOnARequestIdMakeOneJob) {
  const std::string db = TypeParam::NewDatabase("idem");
  auto a = OpenOrDie(db);
  auto b = OpenOrDie(db);
  ASSERT_TRUE(a && b);
  constexpr int kPairs = 60;
  std::atomic<int> ok{0}, exists{0}, other{0}, bystanders{0};
  auto count = [&](absl::Status s) {
    if (s.ok()) {
      ++ok;
    } else if (s.code() == absl::StatusCode::kAlreadyExists) {
      ++exists;
    } else {
      ++other;
      ADD_FAILURE() << s;
    }
  };
  auto node = [&](JobStore* store, const std::string& name) {
    for (int i = 0; i < kPairs; ++i) {
      JobRecord r = Sample(name + std::to_string(i));
      r.request_id = "rid" + std::to_string(i);
      store->Put(r, count);
      store->Put(Sample(name + "-bystander" + std::to_string(i)),
                 [&](absl::Status s) { bystanders += s.ok(); });
    }
    store->Flush();
  };
  std::thread ta(node, a.get(), "a"), tb(node, b.get(), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(ok.load(), kPairs);
  EXPECT_EQ(exists.load(), kPairs);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(bystanders.load(), 2 * kPairs);
  EXPECT_EQ(a->LoadAll()->size(), size_t(3 * kPairs));
}

TYPED_TEST(JobStoreContract, FindsAJobByItsRequestId) {
  auto store = OpenOrDie(TypeParam::NewDatabase("byrequest"));
  ASSERT_TRUE(store);
  store->Put(Sample("a"));  // request id rid-a of tenant t
  JobRecord no_rid = Sample("b");
  no_rid.request_id = "";
  store->Put(no_rid);
  store->Flush();
  auto found = store->FindByRequest("t", "rid-a");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, "a");
  EXPECT_EQ(found->content_hash, Sample("a").content_hash);
  EXPECT_TRUE(found->request.empty());
  EXPECT_EQ(found->request_bytes, Sample("a").request.size());
  EXPECT_EQ(store->FindByRequest("other", "rid-a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FindByRequest("t", "").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(JobStoreContract, RefusesANewerSchema) {
  const std::string db = TypeParam::NewDatabase("newer");
  ASSERT_TRUE(OpenOrDie(db));
  TypeParam::SetSchemaVersion(db, 99);
  auto store = JobStore::Open(db);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(store.status().message()).find("newer"), std::string::npos);
}

// Nodes starting together on an empty database: every one opens it, the schema is made once.
TYPED_TEST(JobStoreContract, ConcurrentOpensMigrateOnce) {
  const std::string db = TypeParam::NewDatabase("together");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto store = JobStore::Open(db);
      EXPECT_TRUE(store.ok()) << store.status();
      if (!store.ok()) return;
      (*store)->Put(Sample("n" + std::to_string(i)), [&](absl::Status s) { ok += s.ok(); });
      (*store)->Flush();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  auto store = OpenOrDie(db);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->LoadAll()->size(), 4u);
}

// One process per database: a second exclusive user is refused until the first closes.
TYPED_TEST(JobStoreContract, OneExclusiveUserAtATime) {
  const std::string db = TypeParam::NewDatabase("exclusive");
  auto first = JobStore::Open(db, /*exclusive=*/true);
  ASSERT_TRUE(first.ok()) << first.status();
  {
    auto second = JobStore::Open(db, /*exclusive=*/true);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
    EXPECT_NE(std::string(second.status().message()).find("another proverd"), std::string::npos)
        << second.status();
    EXPECT_TRUE(JobStore::Open(db).ok()) << "a store that does not ask for exclusivity opens";
  }
  first->reset();
  EXPECT_TRUE(JobStore::Open(db, /*exclusive=*/true).ok());
}

JobRecord Queued(const std::string& id, const std::string& tenant, int32_t priority,
                 int64_t queued_ms, uint64_t bytes = 1 << 20) {
  JobRecord r = Sample(id);
  r.tenant = tenant;
  r.request_id = "";
  r.state = v1::QUEUED;
  r.priority = priority;
  r.queued_ms = queued_ms;
  r.created_ms = queued_ms;
  r.estimated_bytes = bytes;
  r.attempts = 0;
  r.crashes = 0;
  r.cancel_requested = false;
  return r;
}

JobStore::ClaimRequest ClaimBy(const std::string& node, int64_t now, uint64_t max_bytes = 1 << 30,
                               uint32_t per_tenant = 0) {
  JobStore::ClaimRequest c;
  c.node = node;
  c.now_ms = now;
  c.lease_ms = 1000;
  c.max_bytes = max_bytes;
  c.max_running_per_tenant = per_tenant;
  return c;
}

// The cluster-wide order: priority, then the tenant with the fewest running jobs, then the
// longest waiting; only jobs that fit; each claim is a lease with attempts + 1.
TYPED_TEST(JobStoreContract, ClaimsFollowTheOrderAndTakeEachJobOnce) {
  auto store = OpenOrDie(TypeParam::NewDatabase("claims"));
  ASSERT_TRUE(store);
  store->Put(Queued("a1", "a", 0, 100));
  store->Put(Queued("a2", "a", 0, 101));
  store->Put(Queued("b1", "b", 0, 300));
  store->Put(Queued("hi", "b", 5, 400));
  store->Put(Queued("big", "c", 9, 50, uint64_t{8} << 30));
  store->Flush();
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto c = store->Claim(ClaimBy("n1", 1000 + i));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->state, v1::RUNNING);
    EXPECT_EQ(c->attempts, 1u);
    EXPECT_EQ(c->lease_node, "n1");
    EXPECT_EQ(c->lease_expires_ms, 1000 + i + 1000);
    EXPECT_EQ(c->started_ms, 1000 + i);
    order.push_back(c->id);
  }
  // hi (priority 5); then a1 (its tenant runs nothing, b runs hi); then a2 and b1, one job
  // running for each tenant: the longer waiting first.
  EXPECT_EQ(order, (std::vector<std::string>{"hi", "a1", "a2", "b1"}));
  EXPECT_EQ(store->Claim(ClaimBy("n1", 2000)).status().code(), absl::StatusCode::kNotFound)
      << "the 8 GiB job fits no claim of 1 GiB";
  auto big = store->Claim(ClaimBy("n2", 2000, uint64_t{16} << 30));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->id, "big");
  EXPECT_TRUE(big->request.empty());
  EXPECT_EQ(big->request_bytes, Sample("big").request.size());
}

// A tenant's first job in its own order that does not fit is passed over for its next one
// that does; the claim's walk over tenants sees every tenant, however many jobs each queues.
TYPED_TEST(JobStoreContract, ClaimsTakeEachTenantsFirstJobThatFits) {
  auto store = OpenOrDie(TypeParam::NewDatabase("heads"));
  ASSERT_TRUE(store);
  store->Put(Queued("c-big", "c", 9, 1, uint64_t{8} << 30));
  store->Put(Queued("c-small", "c", 0, 2));
  for (int i = 0; i < 50; ++i) store->Put(Queued(absl::StrCat("a", 100 + i), "a", 0, 10 + i));
  store->Put(Queued("z1", "z", 0, 5));
  store->Flush();
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto c = store->Claim(ClaimBy("n", 100 + i));
    ASSERT_TRUE(c.ok()) << c.status();
    order.push_back(c->id);
  }
  // Nothing runs at first: the oldest fitting head (c-small, queued at 2), then z1 and a100
  // (a tenant with nothing running), then a101 (every tenant runs one; a's is the oldest).
  EXPECT_EQ(order, (std::vector<std::string>{"c-small", "z1", "a100", "a101"}));
}

// A tenant at its running limit is passed over for others.
TYPED_TEST(JobStoreContract, ClaimsHonourTheRunningLimitPerTenant) {
  auto store = OpenOrDie(TypeParam::NewDatabase("limit"));
  ASSERT_TRUE(store);
  store->Put(Queued("a1", "a", 0, 1));
  store->Put(Queued("a2", "a", 0, 2));
  store->Put(Queued("b1", "b", 0, 3));
  store->Flush();
  EXPECT_EQ(store->Claim(ClaimBy("n", 10, 1 << 30, 1))->id, "a1");
  EXPECT_EQ(store->Claim(ClaimBy("n", 10, 1 << 30, 1))->id, "b1");
  EXPECT_EQ(store->Claim(ClaimBy("n", 10, 1 << 30, 1)).status().code(),
            absl::StatusCode::kNotFound);
}

// Nodes claiming at once on their own connections never get the same job, and together get
// every one.
TYPED_TEST(JobStoreContract, ConcurrentClaimersNeverShareAJob) {
  const std::string db = TypeParam::NewDatabase("race");
  {
    auto store = OpenOrDie(db);
    ASSERT_TRUE(store);
    for (int i = 0; i < 200; ++i) {
      store->Put(Queued("j" + std::to_string(i), "t" + std::to_string(i % 7), i % 3, i));
    }
    store->Flush();
  }
  std::mutex mu;
  std::map<std::string, std::string> owner;  // job -> node
  int duplicates = 0;
  std::vector<std::thread> nodes;
  for (int n = 0; n < 4; ++n) {
    nodes.emplace_back([&, n] {
      auto store = JobStore::Open(db);
      ASSERT_TRUE(store.ok()) << store.status();
      const std::string node = "node" + std::to_string(n);
      while (true) {
        auto c = (*store)->Claim(ClaimBy(node, 5000));
        if (!c.ok()) {
          if (c.status().code() == absl::StatusCode::kNotFound) break;
          ADD_FAILURE() << c.status();
          break;
        }
        std::lock_guard<std::mutex> lock(mu);
        duplicates += !owner.emplace(c->id, node).second;
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(owner.size(), 200u);
}

// Fencing: only the lease holder's current attempt writes; after its lease expired and
// another node claimed the job, the first node's write changes nothing.
TYPED_TEST(JobStoreContract, FencedWritesNeedTheCurrentLease) {
  auto store = OpenOrDie(TypeParam::NewDatabase("fence"));
  ASSERT_TRUE(store);
  store->Put(Queued("j", "t", 0, 1));
  store->Flush();
  auto first = store->Claim(ClaimBy("n1", 1000));
  ASSERT_TRUE(first.ok()) << first.status();
  auto put = [&](JobRecord r, JobStore::Fence f) {
    absl::Status out = absl::UnknownError("not called");
    store->PutFenced(r, f, [&](absl::Status s) { out = s; });
    store->Flush();
    return out;
  };
  JobRecord progress = *first;
  progress.engine = "cpu";
  EXPECT_TRUE(put(progress, {"n1", 1}).ok());
  EXPECT_EQ(put(progress, {"n1", 2}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(put(progress, {"n2", 1}).code(), absl::StatusCode::kFailedPrecondition);
  // n1 stops heartbeating; the lease expires; n2 takes the job.
  auto held = store->Heartbeat("n1", 1500, 1000);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, std::vector<std::string>{"j"});
  // The holder's record still has the lease of its claim (2000): its writes do not move the
  // lease the heartbeat extended.
  EXPECT_TRUE(put(progress, {"n1", 1}).ok());
  auto none = store->ExpireLeases(2400);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "the heartbeat extended the lease to 2500";
  auto expired = store->ExpireLeases(2600);
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].state, v1::QUEUED);
  EXPECT_EQ((*expired)[0].crashes, 1u);
  EXPECT_EQ((*expired)[0].queued_ms, 2600);
  EXPECT_TRUE((*expired)[0].lease_node.empty());
  EXPECT_TRUE(store->Heartbeat("n1", 2700, 1000)->empty()) << "n1 holds nothing any more";
  auto second = store->Claim(ClaimBy("n2", 2700));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->attempts, 2u);
  // n1 wakes and writes its result: fenced.
  JobRecord late = progress;
  late.state = v1::SUCCEEDED;
  late.proof_sha256 = "late";
  EXPECT_EQ(put(late, {"n1", 1}).code(), absl::StatusCode::kFailedPrecondition);
  JobRecord done = *second;
  done.state = v1::SUCCEEDED;
  done.proof_sha256 = "n2";
  EXPECT_TRUE(put(done, {"n2", 2}).ok());
  auto rows = store->LoadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].state, v1::SUCCEEDED);
  EXPECT_EQ((*rows)[0].proof_sha256, "n2");
  EXPECT_EQ((*rows)[0].attempts, 2u);
  EXPECT_TRUE((*rows)[0].lease_node.empty()) << "a final state ends the lease";
  EXPECT_EQ((*rows)[0].lease_expires_ms, 0);
  EXPECT_EQ(*store->LoadRequest("j"), Sample("j").request) << "a fenced write keeps the request";
  // A final job is nobody's: no fenced write applies.
  EXPECT_EQ(put(done, {"n2", 2}).code(), absl::StatusCode::kFailedPrecondition);
}

// Another node's cancel sets the flag alone; the holder's fenced writes keep it, whatever its
// record says; a final job has nothing to cancel. LoadJobs reads the rows asked for.
TYPED_TEST(JobStoreContract, ACancelFromAnotherNodeSurvivesTheHoldersWrites) {
  auto store = OpenOrDie(TypeParam::NewDatabase("cancel"));
  ASSERT_TRUE(store);
  store->Put(Queued("a", "t", 0, 1));
  store->Put(Queued("b", "t", 0, 2));
  store->Flush();
  auto claimed = store->Claim(ClaimBy("n1", 1000));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->id, "a");
  auto cancel = [&](const std::string& id) {
    absl::Status out = absl::UnknownError("not called");
    store->RequestCancel(id, [&](absl::Status s) { out = s; });
    store->Flush();
    return out;
  };
  EXPECT_TRUE(cancel("a").ok());
  EXPECT_TRUE(cancel("b").ok()) << "a queued job can be cancelled too";
  EXPECT_EQ(cancel("nope").code(), absl::StatusCode::kFailedPrecondition);
  auto rows = store->LoadJobs({"a", "nope", "b"});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  std::map<std::string, JobRecord> by_id;
  for (JobRecord& r : *rows) by_id[r.id] = r;
  EXPECT_TRUE(by_id["a"].cancel_requested);
  EXPECT_EQ(by_id["a"].state, v1::RUNNING) << "only the flag changes";
  EXPECT_EQ(by_id["a"].lease_node, "n1");
  EXPECT_TRUE(by_id["b"].cancel_requested);
  EXPECT_EQ(by_id["b"].request_bytes, Sample("b").request.size());
  // The holder, unaware of the cancel, writes its progress: the cancel stays.
  JobRecord unaware = *claimed;
  unaware.cancel_requested = false;
  unaware.engine = "cpu";
  absl::Status put = absl::UnknownError("not called");
  store->PutFenced(unaware, {"n1", claimed->attempts}, [&](absl::Status s) { put = s; });
  store->Flush();
  ASSERT_TRUE(put.ok()) << put;
  auto a = store->LoadJobs({"a"});
  ASSERT_TRUE(a.ok() && a->size() == 1u);
  EXPECT_TRUE((*a)[0].cancel_requested);
  EXPECT_EQ((*a)[0].engine, "cpu");
  // Settled by the holder: CANCELLED; then nothing is left to cancel.
  JobRecord settled = (*a)[0];
  settled.state = v1::CANCELLED;
  store->PutFenced(settled, {"n1", claimed->attempts}, [&](absl::Status s) { put = s; });
  store->Flush();
  ASSERT_TRUE(put.ok()) << put;
  EXPECT_EQ(cancel("a").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store->LoadJobs({})->empty());
  // A node that does not hold a job settles it only while it is QUEUED.
  auto if_queued = [&](JobRecord r) {
    absl::Status out = absl::UnknownError("not called");
    store->PutIfQueued(r, [&](absl::Status s) { out = s; });
    store->Flush();
    return out;
  };
  JobRecord b = by_id["b"];
  b.state = v1::CANCELLED;
  EXPECT_EQ(if_queued(settled).code(), absl::StatusCode::kFailedPrecondition) << "a is final";
  EXPECT_TRUE(if_queued(b).ok());
  EXPECT_EQ(if_queued(b).code(), absl::StatusCode::kFailedPrecondition) << "b is final now";
  EXPECT_EQ(store->LoadJobs({"b"})->at(0).state, v1::CANCELLED);
}

// One housekeeper at a time; the role passes on when its holder goes.
TYPED_TEST(JobStoreContract, OneHousekeeperAtATime) {
  const std::string db = TypeParam::NewDatabase("housekeeper");
  auto first = OpenOrDie(db);
  auto second = OpenOrDie(db);
  ASSERT_TRUE(first && second);
  auto a = first->HoldHousekeeping();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(*a);
  EXPECT_TRUE(*first->HoldHousekeeping()) << "kept, asked again";
  auto b = second->HoldHousekeeping();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(*b);
  first.reset();
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    auto again = second->HoldHousekeeping();
    ASSERT_TRUE(again.ok()) << again.status();
    taken = *again;
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(taken);
}

// What a listener collected: ids, and how many "something changed" signals.
struct Heard {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> ids;
  int unknown = 0;
  void Add(const std::vector<std::string>& v) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (v.empty()) ++unknown;
      ids.insert(v.begin(), v.end());
    }
    cv.notify_all();
  }
  // Waits until `id` was heard, or, where only unknown changes are reported (SQLite), until
  // more than `unknown_before` of them arrived.
  bool WaitFor(const std::string& id, int unknown_before) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5),
                       [&] { return ids.count(id) || unknown > unknown_before; });
  }
};

// A listener hears of a change committed through another store on the same database.
TYPED_TEST(JobStoreContract, ListenersHearCommittedChanges) {
  const std::string db = TypeParam::NewDatabase("listen");
  auto writer = OpenOrDie(db);
  auto listener = OpenOrDie(db);
  ASSERT_TRUE(writer && listener);
  Heard heard;
  ASSERT_TRUE(listener->Listen([&](const std::vector<std::string>& ids) { heard.Add(ids); }).ok());
  EXPECT_EQ(listener->Listen([](const std::vector<std::string>&) {}).code(),
            absl::StatusCode::kFailedPrecondition);
  for (const char* id : {"a", "b"}) {
    int before;
    {
      std::lock_guard<std::mutex> lock(heard.mu);
      before = heard.unknown;
    }
    writer->Put(Sample(id));
    writer->Flush();
    EXPECT_TRUE(heard.WaitFor(id, before)) << id;
  }
}

// A store's listener passes over the changes of its own write-behind queue and claims (its
// caller has them) and reports every other connection's, its own ops included.
TEST(PostgresJobStore, ListenersPassOverTheirOwnStoresWrites) {
  const std::string db = testing::NewPostgresDatabase("echo");
  auto other = OpenOrDie(db);
  auto self = OpenOrDie(db);
  ASSERT_TRUE(other && self);
  Heard heard;
  ASSERT_TRUE(self->Listen([&](const std::vector<std::string>& ids) { heard.Add(ids); }).ok());
  self->Put(Queued("own", "t", 0, 1));
  self->Flush();
  ASSERT_TRUE(self->Claim(ClaimBy("n", 10)).ok());
  other->Put(Queued("theirs", "t", 0, 2));
  other->Flush();
  {
    std::unique_lock<std::mutex> lock(heard.mu);
    ASSERT_TRUE(heard.cv.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return heard.ids.count("theirs") > 0; }));
    // Notifications arrive in commit order: "own"'s insert and claim came first.
    EXPECT_EQ(heard.ids.count("own"), 0u) << "the store's own insert and claim";
  }
  // Expired leases are another matter: the caller learns of them by listening.
  ASSERT_TRUE(self->ExpireLeases(1'000'000).ok());
  std::unique_lock<std::mutex> lock(heard.mu);
  EXPECT_TRUE(
      heard.cv.wait_for(lock, std::chrono::seconds(5), [&] { return heard.ids.count("own") > 0; }));
}

// PostgreSQL says which jobs changed, at once: inserts, updates, claims and deletes are
// heard by id; a lease extension is not a change.
TEST(PostgresJobStore, ListenersHearWhichJobChangedAtOnce) {
  const std::string db = testing::NewPostgresDatabase("notify");
  auto writer = OpenOrDie(db);
  auto listener = OpenOrDie(db);
  ASSERT_TRUE(writer && listener);
  Heard heard;
  ASSERT_TRUE(listener->Listen([&](const std::vector<std::string>& ids) { heard.Add(ids); }).ok());
  std::vector<double> latency_ms;
  auto expect_heard = [&](const std::string& id, const std::function<void()>& change) {
    {
      std::lock_guard<std::mutex> lock(heard.mu);
      heard.ids.clear();
    }
    const auto t0 = std::chrono::steady_clock::now();
    change();
    std::unique_lock<std::mutex> lock(heard.mu);
    EXPECT_TRUE(heard.cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return heard.ids.count(id);
    })) << id;
    latency_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  };
  expect_heard("q", [&] {
    writer->Put(Queued("q", "t", 0, 1));
    writer->Flush();
  });
  expect_heard("q", [&] { ASSERT_TRUE(writer->Claim(ClaimBy("n", 10)).ok()); });
  {
    std::lock_guard<std::mutex> lock(heard.mu);
    heard.ids.clear();
  }
  ASSERT_EQ(*writer->Heartbeat("n", 20, 1000), std::vector<std::string>{"q"});
  expect_heard("z", [&] {  // a later change: the heartbeat in between was not heard
    writer->Put(Queued("z", "t", 0, 2));
    writer->Flush();
  });
  {
    std::lock_guard<std::mutex> lock(heard.mu);
    EXPECT_FALSE(heard.ids.count("q")) << "a lease extension is not a change";
  }
  expect_heard("z", [&] {
    writer->Delete("z");
    writer->Flush();
  });
  std::sort(latency_ms.begin(), latency_ms.end());
  std::printf("[ notify ] commit-to-listener latency: median %.2f ms, max %.2f ms\n",
              latency_ms[latency_ms.size() / 2], latency_ms.back());
}

// The nodes table: registration, heartbeats (a refresh keeps started_ms), liveness by the
// last heartbeat, forgetting the dead.
TYPED_TEST(JobStoreContract, NodesRegisterBeatAndAreForgotten) {
  auto store = OpenOrDie(TypeParam::NewDatabase("nodes"));
  ASSERT_TRUE(store);
  JobStore::NodeRecord a{
      "node-a", "10.0.0.1:50051", "cuda:0,cpu", "0.1.0 abc", 1ull << 40, 1000, 1000, false};
  JobStore::NodeRecord b{"node-b", "10.0.0.2:50051", "cpu", "0.1.0 abc", 1ull << 34, 1500, 1500,
                         false};
  ASSERT_TRUE(store->PutNode(a).ok());
  ASSERT_TRUE(store->PutNode(b).ok());
  a.heartbeat_ms = 5000;
  a.started_ms = 4000;  // a refresh does not move the start
  a.draining = true;
  ASSERT_TRUE(store->PutNode(a).ok());
  auto live = store->Nodes(2000);
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "node-a");
  EXPECT_EQ((*live)[0].address, "10.0.0.1:50051");
  EXPECT_EQ((*live)[0].engines, "cuda:0,cpu");
  EXPECT_EQ((*live)[0].memory_bytes, 1ull << 40);
  EXPECT_EQ((*live)[0].started_ms, 1000);
  EXPECT_EQ((*live)[0].heartbeat_ms, 5000);
  EXPECT_TRUE((*live)[0].draining);
  EXPECT_EQ(store->Nodes(0)->size(), 2u);
  EXPECT_EQ(*store->ForgetNodes(2000), 1);
  EXPECT_EQ(store->Nodes(0)->size(), 1u);
}

TEST(JobStoreOpen, NamesWhatIsWrong) {
  auto bad = JobStore::Open("mysql://u:secret@h/db");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(bad.status().message()).find("secret"), std::string::npos);
  EXPECT_EQ(JobStore::Open("sqlite:").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobStore::Redacted("postgresql://u:pw@h:5/d?sslmode=require"),
            "postgresql://u:***@h:5/d?sslmode=require");
  EXPECT_EQ(JobStore::Redacted("postgresql://h/d?password=pw&x=1"),
            "postgresql://h/d?password=***&x=1");
  EXPECT_EQ(JobStore::Redacted("postgresql://h/d?sslpassword=a&password=b"),
            "postgresql://h/d?sslpassword=***&password=***");
  EXPECT_EQ(JobStore::Redacted("sqlite:/a/b.db"), "sqlite:/a/b.db");
  // A server that does not answer: UNAVAILABLE, the password not in the message.
  auto down = JobStore::Open("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(down.status().message()).find("secret"), std::string::npos)
      << down.status();
  EXPECT_NE(std::string(down.status().message()).find("127.0.0.1:1"), std::string::npos);
}

// A version-1 database (before resource governance) gains the new columns with their
// defaults, and its jobs keep their order.
TEST(SqliteJobStore, MigratesAVersionOneDatabase) {
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
  auto store = JobStore::Open("sqlite:" + path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto rows = (*store)->LoadAll();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].queued_ms, 42);
  EXPECT_EQ((*rows)[0].crashes, 0u);
  EXPECT_FALSE((*rows)[0].cancel_requested);
  EXPECT_EQ((*rows)[0].request_bytes, 2u);
}

// The database server restarts under a running store: the batches that meet it down fail
// UNAVAILABLE, the store reconnects, and every later change commits; nothing is lost that
// was acknowledged.
TEST(PostgresJobStore, ReconnectsAfterTheServerRestarts) {
  auto server = testing::PostgresServer::Start();
  ASSERT_TRUE(server);
  const std::string db = testing::NewPostgresDatabase("restart", server->url());
  auto opened = JobStore::Open(db, /*exclusive=*/true);  // the lock is taken again below
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto store = *std::move(opened);
  Heard heard;
  ASSERT_TRUE(store->Listen([&](const std::vector<std::string>& ids) { heard.Add(ids); }).ok());
  absl::Status first;
  store->Put(Sample("before"), [&](absl::Status s) { first = s; });
  store->Flush();
  ASSERT_TRUE(first.ok()) << first;
  ASSERT_TRUE(server->Restart());
  std::vector<std::string> acknowledged;
  int unavailable = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "after" + std::to_string(i);
    absl::Status s;
    store->Put(Sample(id), [&](absl::Status r) { s = r; });
    store->Flush();
    if (s.ok()) {
      acknowledged.push_back(id);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
      ++unavailable;
    }
  }
  EXPECT_LE(unavailable, 1) << "one batch at most meets the dead connection";
  {
    EXPECT_EQ(JobStore::Open(db, /*exclusive=*/true).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << "the reconnected session holds the lock again";
  }
  EXPECT_GE(acknowledged.size(), 4u);
  // The listener reconnected too: it said so (changes meanwhile are unknown) and hears the
  // changes after.
  {
    std::unique_lock<std::mutex> lock(heard.mu);
    EXPECT_TRUE(heard.cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return heard.unknown >= 1;
    })) << "the listener says changes may have been missed";
  }
  auto other = JobStore::Open(db, /*exclusive=*/false);  // a change of another connection
  ASSERT_TRUE(other.ok()) << other.status();
  (*other)->Put(Sample("later"));
  (*other)->Flush();
  EXPECT_TRUE(heard.WaitFor("later", 1 << 30)) << "heard after the restart";
  auto request = store->LoadRequest("before");
  if (!request.ok()) {
    EXPECT_EQ(request.status().code(), absl::StatusCode::kUnavailable);
    request = store->LoadRequest("before");  // the reader reconnects too
  }
  ASSERT_TRUE(request.ok()) << request.status();
  auto rows = store->LoadAll();
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::set<std::string> ids;
  for (const auto& r : *rows) ids.insert(r.id);
  EXPECT_TRUE(ids.count("before"));
  for (const auto& id : acknowledged) EXPECT_TRUE(ids.count(id)) << id;
}

}  // namespace
}  // namespace prover::server
