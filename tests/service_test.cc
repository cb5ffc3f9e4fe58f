// Integration tests: the real proverd on loopback, driven by the real client library.
#include <sstream>

#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/postgres_server.h"
#include "tests/service_fixture.h"

namespace prover {
namespace {

TEST_F(ServiceTest, FibonacciLifecycle) {
  StartServer("fib");
  const v1::Job queued = Submit(Fib(12));
  EXPECT_EQ(queued.state(), v1::QUEUED);
  EXPECT_EQ(queued.workload(), "fibonacci");
  std::vector<v1::Job> seen;
  ASSERT_TRUE(alpha_->Watch(queued.job_id(), [&](const v1::Job& j) { seen.push_back(j); }).ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().state(), v1::SUCCEEDED);
  // The stream reports stages in order.
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].progress(), seen[i - 1].progress());
  }
  const v1::Job done = WaitFinal(queued.job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_EQ(done.security_bits(), 100u);
  EXPECT_EQ(done.attempts(), 1u);
  auto proof = alpha_->FetchProof(queued.job_id());
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->size(), done.proof_bytes());
  EXPECT_TRUE(VerifyFib(12, *proof).ok());
  // The server verifies too, deriving the public inputs itself.
  v1::VerifyProofRequest vr;
  *vr.mutable_builtin() = Fib(12).builtin();
  vr.set_proof(*proof);
  auto verdict = alpha_->Verify(vr);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted()) << verdict->reason();
  vr.mutable_builtin()->set_log_rows(11);
  verdict = alpha_->Verify(vr);
  ASSERT_TRUE(verdict.ok());
  EXPECT_FALSE(verdict->accepted());
  // WatchJob on a finished job: exactly the final state, then the end of the stream.
  seen.clear();
  ASSERT_TRUE(alpha_->Watch(queued.job_id(), [&](const v1::Job& j) { seen.push_back(j); }).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].state(), v1::SUCCEEDED);
  // Listed for its tenant only.
  auto mine = alpha_->List(v1::ListJobsRequest());
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->jobs_size(), 1);
  EXPECT_EQ(mine->jobs(0).job_id(), queued.job_id());
  EXPECT_EQ(beta_->List(v1::ListJobsRequest())->jobs_size(), 0);
}

// A server with a proven floor: the defaults are refused at submission, a proven-100
// preset job proves, and VerifyProof judges the proof given (a builtin statement's
// default parameters are not the proof's), reporting both figures; a call may raise the
// floors, not lower them.
TEST_F(ServiceTest, AProvenFloorAndASecurityPreset) {
  StartServer("proven", {"--min-proven-security-bits", "100"});
  auto refused = alpha_->Submit(Fib(10));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("proven security"), std::string::npos)
      << refused.status();
  v1::SubmitProofRequest strong = Fib(10);
  strong.mutable_options()->set_security("proven-100");
  const v1::Job job = Submit(strong);
  const v1::Job done = WaitFinal(job.job_id());
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_GE(done.proven_security_bits(), 100u) << "the job states the proof's proven figure";
  auto proof = alpha_->FetchProof(job.job_id());
  ASSERT_TRUE(proof.ok()) << proof.status();
  v1::VerifyProofRequest vr;
  *vr.mutable_builtin() = Fib(10).builtin();
  vr.set_proof(*proof);
  auto verdict = alpha_->Verify(vr);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted()) << verdict->reason();
  EXPECT_GE(verdict->proven_security_bits(), 100u);
  EXPECT_GT(verdict->security_bits(), 100u);
  vr.set_min_proven_security_bits(1);  // cannot lower the server's floor
  vr.set_min_security_bits(1);
  verdict = alpha_->Verify(vr);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted()) << verdict->reason();
  vr.set_min_proven_security_bits(128);  // can raise it
  verdict = alpha_->Verify(vr);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_FALSE(verdict->accepted());
  EXPECT_NE(verdict->reason().find("proven security"), std::string::npos) << verdict->reason();
  auto info = alpha_->ServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->limits().min_proven_security_bits(), 100u);
}

TEST_F(ServiceTest, ZkvmLifecycleAndUserStatementUpload) {
  StartServer("zkvm");
  v1::SubmitProofRequest zk;
  zk.mutable_builtin()->set_workload("zkvm");
  zk.mutable_builtin()->set_scale(10);
  zk.mutable_builtin()->set_seed(3);
  const v1::Job job = Submit(zk);
  // The same statement as a user AIR and trace, streamed in small chunks.
  auto w = air::Zkvm(10, 3);
  ASSERT_TRUE(w.ok());
  v1::SubmitProofRequest user;
  *user.mutable_user()->mutable_air() = air::AirToProto(w->air);
  for (Fp x : w->public_inputs) user.mutable_user()->add_public_inputs(x.value());
  const auto trace = air::EncodeTrace(w->trace);
  auto uploaded = alpha_->Upload(
      user, std::string_view(reinterpret_cast<const char*>(trace.data()), trace.size()),
      /*chunk_bytes=*/64 << 10);
  ASSERT_TRUE(uploaded.ok()) << uploaded.status();
  EXPECT_EQ(uploaded->job().workload(), "custom");
  const v1::Job a = WaitFinal(job.job_id());
  const v1::Job b = WaitFinal(uploaded->job().job_id());
  ASSERT_EQ(a.state(), v1::SUCCEEDED) << a.error();
  ASSERT_EQ(b.state(), v1::SUCCEEDED) << b.error();
  // Proofs are deterministic: the builtin and the uploaded statement give the same bytes.
  EXPECT_EQ(a.proof_sha256(), b.proof_sha256());
  auto proof = alpha_->FetchProof(a.job_id());
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(stark::VerifyEncoded(
                  w->air, w->public_inputs,
                  std::span(reinterpret_cast<const uint8_t*>(proof->data()), proof->size()))
                  .ok());
}

TEST_F(ServiceTest, IdempotentSubmit) {
  StartServer("idem");
  const v1::Job first = Submit(Fib(8, "req-1"));
  auto again = alpha_->Submit(Fib(8, "req-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deduplicated());
  EXPECT_EQ(again->job().job_id(), first.job_id());
  // The same id with other content is refused; another tenant's id space is separate.
  auto clash = alpha_->Submit(Fib(9, "req-1"));
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists);
  auto other = beta_->Submit(Fib(8, "req-1"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->job().job_id(), first.job_id());
  // Concurrent duplicates give one job.
  std::vector<std::thread> threads;
  std::vector<std::string> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = alpha_->Submit(Fib(7, "req-concurrent"));
      if (r.ok()) ids[i] = r->job().job_id();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_FALSE(ids[0].empty());
}

TEST_F(ServiceTest, CancelQueuedAndRunningJobs) {
  StartServer("cancel", {"--cpu-jobs", "1"});
  const v1::Job running = Submit(Fib(20));
  WaitRunning(running.job_id());
  const v1::Job queued = Submit(Fib(10));
  auto c1 = alpha_->Cancel(queued.job_id());
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->state(), v1::CANCELLED);
  auto c2 = alpha_->Cancel(running.job_id());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(WaitFinal(running.job_id()).state(), v1::CANCELLED);
  // Idempotent.
  auto c3 = alpha_->Cancel(running.job_id());
  ASSERT_TRUE(c3.ok());
  EXPECT_EQ(c3->state(), v1::CANCELLED);
  EXPECT_EQ(alpha_->FetchProof(running.job_id()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The engine is free again.
  EXPECT_EQ(WaitFinal(Submit(Fib(8)).job_id()).state(), v1::SUCCEEDED);
}

TEST_F(ServiceTest, Deadlines) {
  StartServer("deadline", {"--cpu-jobs", "1"});
  const v1::Job blocker = Submit(Fib(20));
  WaitRunning(blocker.job_id());
  v1::SubmitProofRequest late = Fib(8);
  late.set_deadline_ms(50);
  const v1::Job queued = Submit(late);
  const v1::Job failed = WaitFinal(queued.job_id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_EQ(failed.cause(), v1::DEADLINE_EXCEEDED);
  // A deadline that passes while proving stops the proof at a stage boundary.
  ASSERT_TRUE(alpha_->Cancel(blocker.job_id()).ok());
  v1::SubmitProofRequest tight = Fib(20);
  tight.set_deadline_ms(300);
  const v1::Job running = WaitFinal(Submit(tight).job_id());
  EXPECT_EQ(running.state(), v1::FAILED);
  EXPECT_EQ(running.cause(), v1::DEADLINE_EXCEEDED);
}

TEST_F(ServiceTest, AuthenticationAndTenantIsolation) {
  StartServer("auth");
  const v1::Job job = Submit(Fib(6));
  client::ClientOptions o;
  o.target = server_->grpc_address();
  auto anonymous = *ProverClient::Connect(o);
  EXPECT_EQ(anonymous->GetJob(job.job_id()).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(anonymous->Submit(Fib(6)).status().code(), absl::StatusCode::kUnauthenticated);
  o.api_key = "wrong-key";
  auto wrong = *ProverClient::Connect(o);
  EXPECT_EQ(wrong->GetJob(job.job_id()).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong->ServerInfo().status().code(), absl::StatusCode::kUnauthenticated);
  // Health needs no key.
  EXPECT_TRUE(*anonymous->Healthy());
  // Another tenant's job does not exist for beta.
  EXPECT_EQ(beta_->GetJob(job.job_id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(beta_->Cancel(job.job_id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(beta_->WaitJob(job.job_id(), std::chrono::milliseconds(10)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(beta_->Watch(job.job_id(), [](const v1::Job&) {}).code(), absl::StatusCode::kNotFound);
  WaitFinal(job.job_id());
  EXPECT_EQ(beta_->FetchProof(job.job_id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(beta_->GetJob("jdoesnotexist").status().code(), absl::StatusCode::kNotFound);
  auto info = beta_->ServerInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tenant(), "beta");
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_GE(MetricValue(metrics, "prover_auth_failures_total{reason=\"missing_key\"}"), 2);
  EXPECT_GE(MetricValue(metrics, "prover_auth_failures_total{reason=\"bad_key\"}"), 2);
}

TEST_F(ServiceTest, MalformedRequestsNameTheFieldAndTheServerKeepsServing) {
  StartServer("malformed", {"--max-message-bytes", "1048576"});
  auto expect = [&](const v1::SubmitProofRequest& r, absl::StatusCode code,
                    const std::string& path) {
    auto resp = alpha_->Submit(r, /*inline_limit=*/1u << 30);
    ASSERT_FALSE(resp.ok());
    EXPECT_EQ(resp.status().code(), code) << resp.status();
    EXPECT_EQ(std::string(resp.status().message()).rfind(path, 0), 0u) << resp.status();
  };
  v1::SubmitProofRequest unknown;
  unknown.mutable_builtin()->set_workload("keccak");
  expect(unknown, absl::StatusCode::kInvalidArgument,
         "builtin.workload: unknown workload 'keccak'");
  expect(v1::SubmitProofRequest(), absl::StatusCode::kInvalidArgument, "statement:");

  auto w = air::Fibonacci(6);
  const auto trace = air::EncodeTrace(w->trace);
  v1::SubmitProofRequest user;
  *user.mutable_user()->mutable_air() = air::AirToProto(w->air);
  for (Fp x : w->public_inputs) user.mutable_user()->add_public_inputs(x.value());
  user.mutable_user()->set_trace(std::string(trace.begin(), trace.end()));

  auto bad_air = user;
  bad_air.mutable_user()
      ->mutable_air()
      ->mutable_tables(0)
      ->mutable_exprs(0)
      ->mutable_column()
      ->set_index(40);
  expect(bad_air, absl::StatusCode::kInvalidArgument, "user.air.tables[0]");
  auto short_trace = user;
  short_trace.mutable_user()->mutable_trace()->resize(trace.size() - 8);
  expect(short_trace, absl::StatusCode::kInvalidArgument, "user.trace:");
  auto non_canonical = user;
  non_canonical.mutable_user()->set_public_inputs(0, 0xFFFFFFFF00000001ull);
  expect(non_canonical, absl::StatusCode::kInvalidArgument, "user.public_inputs[0]");
  // A trace value >= p, inside an otherwise valid trace (its checksum recomputed).
  {
    std::vector<uint8_t> t = trace;
    const size_t header = 8 + 4 + 4 + 8;  // magic, version, table count, one table's shape
    for (int i = 0; i < 8; ++i) t[header + 8 * 5 + i] = 0xFF;
    const Digest d = Keccak256(std::span<const uint8_t>(t.data(), t.size() - 32));
    std::copy(d.begin(), d.end(), t.end() - 32);
    auto bad_value = user;
    bad_value.mutable_user()->set_trace(std::string(t.begin(), t.end()));
    expect(bad_value, absl::StatusCode::kInvalidArgument, "user.trace: tables[0].columns[0][5]");
  }
  auto oversized = user;
  oversized.mutable_user()->mutable_trace()->append(2 << 20, '\0');
  expect(oversized, absl::StatusCode::kResourceExhausted, "");
  // Nothing was queued and the server still serves.
  EXPECT_EQ(alpha_->List(v1::ListJobsRequest())->jobs_size(), 0);
  EXPECT_EQ(WaitFinal(Submit(user).job_id()).state(), v1::SUCCEEDED);
  EXPECT_EQ(alpha_->GetJob("").status().code(), absl::StatusCode::kInvalidArgument);
  v1::ListJobsRequest bad_page;
  bad_page.set_page_token("garbage");
  EXPECT_EQ(alpha_->List(bad_page).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, CorruptedProofIsReportedNeverServed) {
  StartServer("corrupt");
  const v1::Job job = WaitFinal(Submit(Fib(8)).job_id());
  ASSERT_EQ(job.state(), v1::SUCCEEDED);
  const std::string path = server_->data_dir() + "/artifacts/proofs/" + job.job_id() + ".proof";
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(100);
    const char c = char(f.get());
    f.seekp(100);
    f.put(char(c ^ 1));
  }
  auto proof = alpha_->FetchProof(job.job_id());
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kDataLoss) << proof.status();
  EXPECT_NE(std::string(proof.status().message()).find("corrupted"), std::string::npos);
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "prover_artifact_corruptions_total"), 1);
}

TEST_F(ServiceTest, HealthAnswersForTheWholeServerAndTheService) {
  StartServer("health");
  EXPECT_TRUE(*alpha_->Healthy());
  auto service = alpha_->Healthy("prover.v1.Prover");
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_TRUE(*service);
  EXPECT_EQ(alpha_->Healthy("prover.v1.Nope").status().code(), absl::StatusCode::kNotFound);
}

// Reflection v1 (next to gRPC's v1alpha): the services, and every message of the API by name,
// the proof format included.
TEST_F(ServiceTest, ReflectionV1FindsTheServicesAndEveryMessage) {
  StartServer("reflection");
  auto channel = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->ServerReflectionInfo(&ctx);
  auto ask = [&](const grpc::reflection::v1::ServerReflectionRequest& req) {
    grpc::reflection::v1::ServerReflectionResponse resp;
    EXPECT_TRUE(stream->Write(req));
    EXPECT_TRUE(stream->Read(&resp));
    return resp;
  };
  grpc::reflection::v1::ServerReflectionRequest list;
  list.set_list_services("");
  std::set<std::string> services;
  const auto listed = ask(list);
  for (const auto& s : listed.list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(services.count("prover.v1.Prover"));
  EXPECT_TRUE(services.count("grpc.health.v1.Health"));
  for (const char* symbol :
       {"prover.v1.Proof", "prover.v1.Prover", "prover.v1.Air", "grpc.health.v1.Health"}) {
    grpc::reflection::v1::ServerReflectionRequest req;
    req.set_file_containing_symbol(symbol);
    const auto resp = ask(req);
    ASSERT_TRUE(resp.has_file_descriptor_response())
        << symbol << ": " << resp.error_response().error_message();
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(resp.file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_FALSE(file.name().empty()) << symbol;
  }
  grpc::reflection::v1::ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol("prover.v1.Nope");
  EXPECT_EQ(ask(unknown).error_response().error_code(), int(grpc::StatusCode::NOT_FOUND));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// One proverd on PostgreSQL (--database postgresql://...): the whole lifecycle, and a
// kill -9 in the middle of a proof: the restarted process finds the job in the database,
// proves it again (attempts 2) and deduplicates by request id as on SQLite.
TEST_F(ServiceTest, OneNodeOnPostgresKeepsItsJobsOverACrash) {
  const std::string db = testing::NewPostgresDatabase("svc");
  StartServer("postgres", {"--database", db, "--cpu-jobs", "1"});
  const v1::Job big = Submit(Fib(20, "big"));
  const v1::Job small = Submit(Fib(12, "small"));
  WaitRunning(big.job_id());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Kill();
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  beta_ = server_->Client(kBeta);
  const v1::Job done = WaitFinal(big.job_id());
  ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_EQ(done.attempts(), 2u);
  EXPECT_TRUE(VerifyFib(20, *alpha_->FetchProof(big.job_id())).ok());
  ASSERT_EQ(WaitFinal(small.job_id()).state(), v1::SUCCEEDED);
  EXPECT_TRUE(VerifyFib(12, *alpha_->FetchProof(small.job_id())).ok());
  // The same request id and content: the same job; another tenant does not see it.
  EXPECT_EQ(Submit(Fib(12, "small")).job_id(), small.job_id());
  EXPECT_EQ(beta_->GetJob(small.job_id()).status().code(), absl::StatusCode::kNotFound);
  v1::ListJobsRequest all;
  auto listed = alpha_->List(all);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->jobs_size(), 2);
  // The rows are in PostgreSQL, not in a SQLite file of the data directory.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/prover.db"));
}

// The PostgreSQL server restarts while jobs are submitted and proved: proverd reconnects,
// every acknowledged job finishes with a verifying proof, none is started twice unless the
// log shows why (a start that met the database down went back to the queue), and the
// database holds every final state (a write that met the database down was written again):
// a restarted proverd sees them all finished.
TEST_F(ServiceTest, APostgresRestartUnderLoadLosesNothing) {
  auto pg = testing::PostgresServer::Start();
  ASSERT_TRUE(pg);
  const std::string db = testing::NewPostgresDatabase("pgrestart", pg->url());
  StartServer("pgrestart", {"--database", db, "--cpu-jobs", "1"});
  std::mutex mu;
  std::map<std::string, uint32_t> acknowledged;  // job -> log rows
  std::atomic<bool> stop{false};
  std::atomic<int> unavailable{0};
  std::thread submitter([&] {
    for (int i = 0; !stop; ++i) {
      const uint32_t rows = 10 + uint32_t(i % 3);
      // A client's retry: the same request id until it is acknowledged.
      for (int attempt = 0; attempt < 50; ++attempt) {
        auto r = alpha_->Submit(Fib(rows, "r" + std::to_string(i)));
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[r->job().job_id()] = rows;
          break;
        }
        ++unavailable;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const bool pg_restarted = pg->Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  submitter.join();
  ASSERT_TRUE(pg_restarted);
  ASSERT_GE(acknowledged.size(), 10u);
  // An extra start must have its requeue in the log.
  auto explained = [&](const std::string& id) {
    std::istringstream log(server_->Log());
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"job requeued\"") != std::string::npos &&
          line.find(id) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  int restarted = 0;
  std::map<std::string, uint32_t> attempts;
  for (const auto& [id, rows] : acknowledged) {
    const v1::Job j = WaitFinal(id);
    attempts[id] = j.attempts();
    ASSERT_EQ(j.state(), v1::SUCCEEDED) << id << " " << j.error();
    if (j.attempts() != 1) {
      ++restarted;
      EXPECT_EQ(j.attempts(), 2u) << id;
      EXPECT_TRUE(explained(id)) << id << " started twice without a requeue in the log";
    }
    auto proof = alpha_->FetchProof(id);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyFib(rows, *proof).ok()) << id;
  }
  // What the database says, read by a fresh process: every job final, none run again.
  EXPECT_EQ(server_->Stop(), 0);  // a drain: every write committed (kill -9 is tested above)
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  v1::ListJobsRequest all;
  all.set_page_size(1000);
  auto listed = alpha_->List(all);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_GE(size_t(listed->jobs_size()), acknowledged.size());
  for (const v1::Job& j : listed->jobs()) {
    EXPECT_EQ(j.state(), v1::SUCCEEDED) << j.job_id() << " " << v1::JobState_Name(j.state());
    const auto it = attempts.find(j.job_id());
    if (it != attempts.end()) {
      EXPECT_EQ(j.attempts(), it->second) << "the database's count";
    }
  }
  std::printf(
      "[ pg restart ] %zu acknowledged, %d listed, %d submissions failed past the client's "
      "retries, %d jobs started "
      "twice (each requeued in the log)\n",
      acknowledged.size(), listed->jobs_size(), unavailable.load(), restarted);
}

// The database password from a file (a Docker secret), apart from the URI: proverd logs in
// with it; a wrong one stops the start with the server's reason, never the password.
TEST_F(ServiceTest, TheDatabasePasswordComesFromAFile) {
  const std::string url = testing::SharedPostgresUrl();
  const std::string name = "pw_" + std::to_string(::getpid());
  ASSERT_TRUE(testing::PostgresExec(url, "CREATE DATABASE " + name + " OWNER prover_pw"));
  const std::string db = url.substr(0, url.find("://") + 3) + "prover_pw" +
                         url.substr(url.find('@'), url.rfind('/') - url.find('@') + 1) + name;
  const std::string dir = TempDir("pwsecrets");
  std::ofstream(dir + "/wrong") << "not-the-password\n";
  {
    testing::ProverdProcess p(dir + "/data", {"--insecure-loopback", "--database", db,
                                              "--database-password-file", dir + "/wrong"});
    EXPECT_FALSE(p.Start());
    EXPECT_NE(p.Log().find("password authentication failed"), std::string::npos) << p.Log();
    EXPECT_EQ(p.Log().find("not-the-password"), std::string::npos) << p.Log();
  }
  std::ofstream(dir + "/right") << "prover-test-password\n";
  StartServer("pwfile", {"--database", db, "--database-password-file", dir + "/right"});
  const v1::Job job = Submit(Fib(10));
  EXPECT_EQ(WaitFinal(job.job_id()).state(), v1::SUCCEEDED);
}

// A database that cannot be reached or named: proverd refuses to start, saying which.
TEST_F(ServiceTest, AnUnusableDatabaseStopsTheStartWithItsName) {
  const std::string dir = TempDir("baddb");
  for (const std::string& db :
       {std::string("postgresql://u:hunter2@127.0.0.1:1/none"), std::string("mysql://h/db")}) {
    testing::ProverdProcess p(dir + "/data", {"--insecure-loopback", "--database", db});
    EXPECT_FALSE(p.Start());
    const std::string log = p.Log();
    EXPECT_NE(log.find("database"), std::string::npos) << log;
    EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  }
}

// Two single-node proverds on one database would both run every job: the second refuses to
// start, on SQLite (the same data directory) and on PostgreSQL.
TEST_F(ServiceTest, ASecondProcessOnTheSameDatabaseRefusesToStart) {
  const std::string pg = testing::NewPostgresDatabase("twice");
  // SQLite named explicitly (StartServer's data directory), also where the suite runs on
  // PostgreSQL.
  const std::string sqlite =
      "sqlite:" + (std::filesystem::temp_directory_path() /
                   ("proverd_twice_" + std::to_string(::getpid())) / "data" / "prover.db")
                      .string();
  for (const std::vector<std::string>& flags : {std::vector<std::string>{"--database", sqlite},
                                                std::vector<std::string>{"--database", pg}}) {
    StartServer("twice", flags);
    std::vector<std::string> second = {"--insecure-loopback"};
    second.insert(second.end(), flags.begin(), flags.end());
    testing::ProverdProcess p(dir_ + "/data", second);
    EXPECT_FALSE(p.Start());
    EXPECT_NE(p.Log().find("another proverd is using this job database"), std::string::npos)
        << p.Log();
    Submit(Fib(10));  // the first one is unaffected
    server_->Kill();
  }
}

TEST_F(ServiceTest, MetricsMove) {
  StartServer("metrics");
  const std::string before = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_NE(before.find("prover_queue_depth 0"), std::string::npos) << before.substr(0, 500);
  WaitFinal(Submit(Fib(10)).job_id());
  const std::string after = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_EQ(MetricValue(after, "prover_jobs_submitted_total{workload=\"fibonacci\"}"), 1);
  EXPECT_EQ(MetricValue(after,
                        "prover_jobs_finished_total{cause=\"NONE\",engine=\"cpu\","
                        "state=\"SUCCEEDED\",workload=\"fibonacci\"}"),
            1);
  EXPECT_EQ(MetricValue(after, "prover_jobs{state=\"SUCCEEDED\"}"), 1);
  EXPECT_NE(after.find("prover_stage_duration_seconds_count{engine=\"cpu\",stage=\"fri\","
                       "workload=\"fibonacci\"} 1"),
            std::string::npos);
  EXPECT_GT(MetricValue(after, "prover_domain_cache_misses_total"), 0);
  // What runs, the engines by kind, and the process.
  EXPECT_NE(after.find("prover_build_info{version=\""), std::string::npos);
  EXPECT_NE(after.find("engines=\"cpu\""), std::string::npos);
  EXPECT_EQ(MetricValue(after, "prover_engines{kind=\"cpu\"}"), 1);
  EXPECT_EQ(MetricValue(after, "prover_engines{kind=\"cuda\"}"), 0);
  EXPECT_GT(MetricValue(after, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(MetricValue(after, "process_open_fds"), 5);
  EXPECT_GT(MetricValue(after, "process_start_time_seconds"), 1.7e9);
  EXPECT_GE(MetricValue(after, "prover_request_duration_seconds_count{method=\"SubmitProof\"}"), 1);
}

TEST_F(ServiceTest, LimitsAdmissionAndRetention) {
  StartServer("limits", {"--cpu-memory-bytes", "1500000000", "--max-queued-per-tenant", "2",
                         "--retention-hours", "0.0005", "--rate-limit", "20"});
  // A job whose estimated peak memory fits no engine is refused at once.
  auto huge = alpha_->Submit(Fib(22));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted) << huge.status();
  EXPECT_NE(std::string(huge.status().message()).find("GiB"), std::string::npos);
  // The queued-jobs limit per tenant (the engine is busy with the first job).
  const v1::Job running = Submit(Fib(18));
  WaitRunning(running.job_id());
  Submit(Fib(5));
  Submit(Fib(6));
  auto third = alpha_->Submit(Fib(7));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_TRUE(beta_->Submit(Fib(7)).ok());  // other tenants are not affected
  // Retention: a finished job and its proof disappear after 1.8 s.
  const v1::Job done = WaitFinal(running.job_id());
  ASSERT_EQ(done.state(), v1::SUCCEEDED);
  const std::string proof_path =
      server_->data_dir() + "/artifacts/proofs/" + done.job_id() + ".proof";
  EXPECT_TRUE(std::filesystem::exists(proof_path));
  absl::StatusCode code = absl::StatusCode::kOk;
  for (int i = 0; i < 100 && code != absl::StatusCode::kNotFound; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    code = alpha_->GetJob(done.job_id()).status().code();
  }
  EXPECT_EQ(code, absl::StatusCode::kNotFound);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(std::filesystem::exists(proof_path));
  // The rate limit: bursts of 40 calls, then RESOURCE_EXHAUSTED.
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    refused += alpha_->ServerInfo().status().code() == absl::StatusCode::kResourceExhausted;
  }
  EXPECT_GT(refused, 40);
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_GT(MetricValue(metrics, "prover_rate_limited_total"), 40);
}

// SIGTERM while a proof runs: the drain times out, the job goes back to the queue durably,
// and the next start finishes it.
TEST_F(ServiceTest, DrainRequeuesAndRestartFinishes) {
  StartServer("drain", {"--drain-timeout-s", "0"});
  const v1::Job job = Submit(Fib(20));
  WaitRunning(job.job_id());
  EXPECT_EQ(server_->Stop(), 0);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  const v1::Job done = WaitFinal(job.job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  EXPECT_EQ(done.attempts(), 2u);
  EXPECT_TRUE(VerifyFib(20, *alpha_->FetchProof(job.job_id())).ok());
}

// kill -9 at random moments, ten times, while jobs are submitted and proved. Every job the
// server acknowledged finishes after the last restart and its proof verifies.
TEST_F(ServiceTest, NoAcknowledgedJobIsLostOverTenCrashes) {
  // More crashes than this test makes may hit one job: no quarantine here (see
  // GovernanceTest.AJobThatKillsTheServerIsQuarantined).
  StartServer("crash", {"--cpu-jobs", "1", "--max-crashes", "100"});
  std::mt19937 rng(12345);
  std::map<std::string, uint32_t> acknowledged;  // job -> log rows
  // First a crash in the middle of a proof: the restarted server proves it again.
  {
    const v1::Job big = Submit(Fib(20));
    WaitRunning(big.job_id());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server_->Kill();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    alpha_ = server_->Client(kAlpha);
    const v1::Job done = WaitFinal(big.job_id());
    ASSERT_EQ(done.state(), v1::SUCCEEDED) << done.error();
    EXPECT_EQ(done.attempts(), 2u);
    EXPECT_TRUE(VerifyFib(20, *alpha_->FetchProof(big.job_id())).ok());
  }
  for (int crash = 0; crash < 10; ++crash) {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread submitter([&] {
      for (int i = 0; !stop; ++i) {
        const uint32_t rows = 10 + uint32_t((crash + i) % 7);
        auto r = alpha_->Submit(Fib(rows, "c" + std::to_string(crash) + "-" + std::to_string(i)));
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[r->job().job_id()] = rows;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
    server_->Kill();
    stop = true;
    submitter.join();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    alpha_ = server_->Client(kAlpha);
  }
  ASSERT_GE(acknowledged.size(), 10u);
  for (const auto& [id, rows] : acknowledged) {
    const v1::Job j = WaitFinal(id);
    ASSERT_EQ(j.state(), v1::SUCCEEDED) << id << " " << j.error();
    auto proof = alpha_->FetchProof(id);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyFib(rows, *proof).ok()) << id;
  }
  // Nothing else appeared: the listed jobs are exactly the acknowledged ones (a submission
  // cut off by a crash may have been committed without its answer: it is listed too, and
  // finished as well).
  v1::ListJobsRequest all;
  all.set_page_size(1000);
  auto listed = alpha_->List(all);
  ASSERT_TRUE(listed.ok());
  for (const v1::Job& j : listed->jobs()) {
    EXPECT_EQ(WaitFinal(j.job_id()).state(), v1::SUCCEEDED) << j.job_id();
  }
  EXPECT_GE(size_t(listed->jobs_size()), acknowledged.size());
  std::printf("[ crashes ] 10 kill -9, %zu acknowledged jobs, %d listed, all succeeded\n",
              acknowledged.size(), listed->jobs_size());
}

// 32 clients submit 20 small jobs each. Every job finishes exactly once.
TEST_F(ServiceTest, BoundedLoad) {
  StartServer("load", {"--max-queued-per-tenant", "2000", "--max-running-per-tenant", "8"});
  constexpr int kClients = 32, kJobs = 20;
  std::vector<std::vector<double>> latency(kClients);
  std::vector<std::vector<std::string>> ids(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = server_->Client(kAlpha);
      for (int i = 0; i < kJobs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client->Submit(
            Fib(3 + uint32_t(i % 4), "load-" + std::to_string(c) + "-" + std::to_string(i)));
        latency[c].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        if (r.ok()) ids[c].push_back(r->job().job_id());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  std::set<std::string> unique;
  for (int c = 0; c < kClients; ++c) {
    all.insert(all.end(), latency[c].begin(), latency[c].end());
    unique.insert(ids[c].begin(), ids[c].end());
  }
  ASSERT_EQ(unique.size(), size_t(kClients * kJobs));
  for (const std::string& id : unique) {
    const v1::Job j = WaitFinal(id);
    EXPECT_EQ(j.state(), v1::SUCCEEDED) << id;
    EXPECT_EQ(j.attempts(), 1u) << id;  // ran exactly once
  }
  std::sort(all.begin(), all.end());
  std::printf("[ load    ] %d submits: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", int(all.size()),
              all[all.size() / 2], all[all.size() * 99 / 100], all.back());
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "prover_jobs{state=\"SUCCEEDED\"}"), kClients * kJobs);
}

}  // namespace
}  // namespace prover
