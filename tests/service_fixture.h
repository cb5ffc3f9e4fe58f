// What the service integration tests share: the real proverd on loopback (ProverdProcess),
// two tenants with API keys, and small helpers (requests, waits, the metrics endpoint).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "engine/air/air_proto.h"
#include "engine/air/workload.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/stark/verifier.h"
#include "gtest/gtest.h"
#include "server/sha256.h"
#include "tests/postgres_server.h"
#include "tests/proverd_process.h"
#include "tests/service_helpers.h"

namespace prover {

using client::ProverClient;
using testing::ProverdProcess;

class ServiceTest : public ::testing::Test {
 protected:
  // PROVER_TEST_DATABASE=postgres (CTest's postgres/ copies of the service and governance
  // tests): every server runs on a new PostgreSQL database of the run's server instead of
  // SQLite, unless the test names its own.
  static bool OnPostgres() {
    const char* env = std::getenv("PROVER_TEST_DATABASE");
    return env != nullptr && std::string(env) == "postgres";
  }
  void StartServer(const std::string& name, std::vector<std::string> flags = {}) {
    dir_ = TempDir(name);
    std::vector<std::string> all = {"--api-keys", KeysFile(dir_), "--rate-limit", "0"};
    if (OnPostgres() && std::find(flags.begin(), flags.end(), "--database") == flags.end()) {
      database_ = testing::NewPostgresDatabase("svc");
      all.push_back("--database");
      all.push_back(database_);
    }
    all.insert(all.end(), flags.begin(), flags.end());
    server_ = std::make_unique<ProverdProcess>(dir_ + "/data", all);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    alpha_ = server_->Client(kAlpha);
    beta_ = server_->Client(kBeta);
  }
  void TearDown() override {
    if (server_) {
      if (HasFailure()) std::fprintf(stderr, "proverd log:\n%s\n", server_->Log().c_str());
      server_->Kill();
    }
  }

  v1::Job Submit(const v1::SubmitProofRequest& r, ProverClient* c = nullptr) {
    auto resp = (c ? c : alpha_.get())->Submit(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->job() : v1::Job();
  }
  v1::Job WaitFinal(const std::string& id) {
    auto j = alpha_->WaitFinal(id, std::chrono::seconds(120));
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : v1::Job();
  }
  // Waits until the job is RUNNING (polling).
  void WaitRunning(const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto j = alpha_->GetJob(id);
      ASSERT_TRUE(j.ok());
      if (j->state() == v1::RUNNING) return;
      ASSERT_FALSE(IsFinal(*j)) << v1::JobState_Name(j->state());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "job never ran";
  }

  // The flags naming the server's database when it is not the default (PostgreSQL), for
  // tests that start proverd again with flags of their own.
  std::vector<std::string> DatabaseFlags() const {
    if (database_.empty()) return {};
    return {"--database", database_};
  }
  // Runs `sql` on the job table of the server's database (SQLite file or PostgreSQL).
  void ExecOnJobTable(const std::string& sql) {
    if (!database_.empty()) {
      ASSERT_TRUE(testing::PostgresExec(database_, sql));
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((server_->data_dir() + "/prover.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  std::string dir_;
  std::string database_;  // PostgreSQL (OnPostgres); empty: SQLite in the data directory
  std::unique_ptr<ProverdProcess> server_;
  std::unique_ptr<ProverClient> alpha_, beta_;
};

}  // namespace prover
