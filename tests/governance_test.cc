// Resource governance against the real proverd (docs/OPERATIONS.md, "Resources"): no tenant
// can take the service down or fail another tenant's job. Each test is one attack of issue
// 14, run with small limits so it stays fast, and asserts what the limit guarantees.
#include <sqlite3.h>
#include <sys/wait.h>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "prover/v1/prover.grpc.pb.h"
#include "tests/service_fixture.h"

namespace prover {
namespace {

using GovernanceTest = ServiceTest;

// Item 1: VerifyProof of a builtin statement runs in a bounded pool under a memory budget.
TEST_F(GovernanceTest, VerifyProofIsAdmittedBoundedAndDerivesFibonacciInputsCheaply) {
  StartServer("verify", {"--verify-memory-bytes", "67108864", "--verify-threads", "1"});
  // Deriving zkvm's public inputs at scale 22 would take gigabytes: refused at the door.
  v1::VerifyProofRequest zkvm;
  zkvm.mutable_builtin()->set_workload("zkvm");
  zkvm.mutable_builtin()->set_scale(22);
  zkvm.set_proof("junk");
  auto refused = alpha_->Verify(zkvm);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_NE(refused.status().message().find("public_inputs"), std::string::npos);
  // Fibonacci at the largest height costs constant memory: a junk proof is simply rejected.
  v1::VerifyProofRequest fib;
  *fib.mutable_builtin() = Fib(24).builtin();
  fib.set_proof("junk");
  auto rejected = alpha_->Verify(fib);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_FALSE(rejected->accepted());
  // A burst of 24 verifications of 4 MiB junk proofs (each admitted at about 17 MiB): the
  // budget (64 MiB, a tenant 32) admits one at a time and refuses the rest at once; the
  // server keeps answering.
  v1::VerifyProofRequest big = fib;
  big.set_proof(std::string(4 << 20, 'x'));
  std::atomic<int> ok{0}, exhausted{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 24; ++i) {
    callers.emplace_back([&] {
      auto r = server_->Client(kAlpha)->Verify(big);
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    });
  }
  const double info = Seconds([&] { EXPECT_TRUE(beta_->ServerInfo().ok()); });
  for (auto& t : callers) t.join();
  EXPECT_GT(exhausted.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ok.load() + exhausted.load(), 24);
  EXPECT_LT(info, 2.0) << "another tenant's call waited";
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_GT(MetricValue(metrics, "prover_resource_refusals_total{resource=\"verify_memory\"}"), 0);
}

// Items 4 (cancel) and 3: a cancel reaches inside grinding, and is durable.
TEST_F(GovernanceTest, CancelStopsARunningJobWithinASecondAndIsDurable) {
  StartServer("cancel", {"--cpu-jobs", "1"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);  // hours of proof of work
  const v1::Job job = Submit(grind);
  WaitRunning(job.job_id());
  for (int i = 0; i < 200; ++i) {  // until it grinds
    if (alpha_->GetJob(job.job_id())->stage() == "grinding") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(alpha_->GetJob(job.job_id())->stage(), "grinding");
  const v1::Job other = Submit(Fib(8), beta_.get());
  // Per-tenant gauges: alpha runs one, beta waits with one.
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "prover_tenant_jobs{tenant=\"alpha\",state=\"RUNNING\"}"), 1);
  EXPECT_EQ(MetricValue(metrics, "prover_tenant_jobs{tenant=\"beta\",state=\"QUEUED\"}"), 1);
  double stopped = Seconds([&] {
    ASSERT_TRUE(alpha_->Cancel(job.job_id()).ok());
    EXPECT_EQ(WaitFinal(job.job_id()).state(), v1::CANCELLED);
  });
  EXPECT_LT(stopped, 1.5);
  auto next = beta_->WaitFinal(other.job_id(), std::chrono::seconds(60));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->state(), v1::SUCCEEDED);

  // A cancel acknowledged just before a crash holds after the restart: the job is never run
  // again.
  const v1::Job again = Submit(grind);
  WaitRunning(again.job_id());
  ASSERT_TRUE(alpha_->Cancel(again.job_id()).ok());
  server_->Kill();
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  const v1::Job after = WaitFinal(again.job_id());
  EXPECT_EQ(after.state(), v1::CANCELLED) << v1::JobState_Name(after.state());
}

// Item 4 (deadline and drain): a deadline stops a long stage; SIGTERM with a short drain
// stops the running proof within a second and the process exits.
TEST_F(GovernanceTest, DeadlinesAndDrainReachInsideLongStages) {
  StartServer("deadline", {"--cpu-jobs", "1", "--drain-timeout-s", "0.2"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  grind.set_deadline_ms(1500);
  const v1::Job late = Submit(grind);
  const double took = Seconds([&] {
    const v1::Job j = WaitFinal(late.job_id());
    EXPECT_EQ(j.state(), v1::FAILED);
    EXPECT_EQ(j.cause(), v1::DEADLINE_EXCEEDED);
  });
  EXPECT_LT(took, 3.0);

  grind.clear_deadline_ms();
  const v1::Job running = Submit(grind);
  WaitRunning(running.job_id());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The drain gives the job 0.2 s, then stops it inside grinding; the rest is gRPC's grace
  // for calls in flight (2 s at most) and the metrics server's shutdown (about 1 s).
  const double drain = Seconds([&] { EXPECT_EQ(server_->Stop(), 0); });
  EXPECT_LT(drain, 10.0) << "the drain waited for the end of a stage (grinding: hours)";
  EXPECT_NE(server_->Log().find("\"why\":\"drain\""), std::string::npos);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  auto j = alpha_->GetJob(running.job_id());
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE(IsFinal(*j)) << "a drained job goes back to the queue";
  ASSERT_TRUE(alpha_->Cancel(running.job_id()).ok());
}

// Item 3: a job that kills the process is quarantined after --max-crashes deaths and, while
// it is retried, runs behind the jobs that waited.
TEST_F(GovernanceTest, AJobThatKillsTheServerIsQuarantined) {
  StartServer("quarantine", {"--cpu-jobs", "1", "--max-crashes", "2"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  const v1::Job killer = Submit(grind);
  WaitRunning(killer.job_id());
  const v1::Job waiting = Submit(Fib(10), beta_.get());
  server_->Kill();  // the first death during the job
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  beta_ = server_->Client(kBeta);
  // The other tenant's job, queued before the crash, now runs first.
  auto other = beta_->WaitFinal(waiting.job_id(), std::chrono::seconds(60));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->state(), v1::SUCCEEDED);
  WaitRunning(killer.job_id());
  EXPECT_GT(alpha_->GetJob(killer.job_id())->started_ms(), other->started_ms());
  server_->Kill();  // the second death: quarantined at the next start
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  const v1::Job q = *alpha_->GetJob(killer.job_id());
  EXPECT_EQ(q.state(), v1::FAILED);
  EXPECT_EQ(q.cause(), v1::QUARANTINED);
  EXPECT_NE(q.error().find("died 2 times"), std::string::npos) << q.error();
}

// Items 5 and 6: per-tenant quotas, inputs deleted when a job ends, a full disk refused at
// the door.
TEST_F(GovernanceTest, QuotasAndPromptDeletionOfInputs) {
  StartServer("quota", {"--cpu-jobs", "1", "--max-stored-bytes-per-tenant", "300000",
                        "--max-jobs-per-tenant", "6"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  const v1::Job blocker = Submit(grind);
  WaitRunning(blocker.job_id());
  // Two user jobs of about 130 KB each fit the 300 KB quota; a third does not.
  const v1::SubmitProofRequest wide = WideStatement(64, 8);
  const v1::Job a = Submit(wide);
  const v1::Job b = Submit(wide);
  auto c = alpha_->Submit(wide);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted) << c.status();
  EXPECT_NE(c.status().message().find("quota"), std::string::npos);
  EXPECT_TRUE(beta_->Submit(wide).ok()) << "another tenant has its own quota";
  // Cancelling frees the inputs at once, and with them the quota.
  const std::string inputs = server_->data_dir() + "/artifacts/inputs/";
  EXPECT_TRUE(std::filesystem::exists(inputs + a.job_id() + ".input"));
  ASSERT_TRUE(alpha_->Cancel(a.job_id()).ok());
  ASSERT_TRUE(alpha_->Cancel(b.job_id()).ok());
  for (int i = 0; i < 100 && std::filesystem::exists(inputs + a.job_id() + ".input"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(std::filesystem::exists(inputs + a.job_id() + ".input"));
  EXPECT_FALSE(std::filesystem::exists(inputs + b.job_id() + ".input"));
  EXPECT_TRUE(alpha_->Submit(wide).ok()) << "the quota was released";
  // Rows held count too (blocker, a, b, the last one: 4 of 6).
  EXPECT_TRUE(alpha_->Submit(Fib(5)).ok());
  EXPECT_TRUE(alpha_->Submit(Fib(6)).ok());
  auto seventh = alpha_->Submit(Fib(7));
  EXPECT_EQ(seventh.status().code(), absl::StatusCode::kResourceExhausted) << seventh.status();
  ASSERT_TRUE(alpha_->Cancel(blocker.job_id()).ok());
}

TEST_F(GovernanceTest, ANearlyFullDiskIsUnavailableAtTheDoorNeverAFailedJob) {
  // More reserve than any disk has: every submission meets a "full" disk.
  StartServer("disk", {"--min-free-disk-bytes", "1000000000000000000"});
  auto r = alpha_->Submit(Fib(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("disk"), std::string::npos);
  v1::ListJobsRequest all;
  EXPECT_EQ(alpha_->List(all)->jobs_size(), 0);
}

// Item 5: a job queued while the disk fills waits, unchanged, and runs once there is room:
// it is never proved only to fail storing the proof, and never FAILED.
TEST_F(GovernanceTest, AFullDiskKeepsQueuedJobsWaitingNeverFailsThem) {
  StartServer("diskwait", {"--drain-timeout-s", "0"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  const v1::Job blocker = Submit(grind);
  WaitRunning(blocker.job_id());
  const v1::Job queued = Submit(Fib(10));
  EXPECT_EQ(server_->Stop(), 0);
  // The same data directory, now "full": more reserve than any disk has.
  std::vector<std::string> full = {"--api-keys", KeysFile(dir_),          "--rate-limit",
                                   "0",          "--min-free-disk-bytes", "1000000000000000000"};
  for (const auto& f : DatabaseFlags()) full.push_back(f);
  server_ = std::make_unique<ProverdProcess>(dir_ + "/data", full);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  ASSERT_TRUE(alpha_->Cancel(blocker.job_id()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const v1::Job waiting = *alpha_->GetJob(queued.job_id());
  EXPECT_EQ(waiting.state(), v1::QUEUED) << waiting.error();
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_GT(MetricValue(metrics, "prover_job_retries_total{reason=\"resources\"}"), 0);
  // Room again: the job runs.
  EXPECT_EQ(server_->Stop(), 0);
  std::vector<std::string> room = {"--api-keys", KeysFile(dir_), "--rate-limit", "0"};
  for (const auto& f : DatabaseFlags()) room.push_back(f);
  server_ = std::make_unique<ProverdProcess>(dir_ + "/data", room);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  EXPECT_EQ(WaitFinal(queued.job_id()).state(), v1::SUCCEEDED);
}

// Item 6 and 14: limits on names and sizes, errors that echo bounded excerpts.
TEST_F(GovernanceTest, NamesAndSizesAreBoundedAndErrorsEchoExcerpts) {
  StartServer("names", {"--max-air-nodes", "1000"});
  v1::SubmitProofRequest huge_workload;
  huge_workload.mutable_builtin()->set_workload(std::string(10000, 'w'));
  auto r = alpha_->Submit(huge_workload);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status().code();
  EXPECT_LT(r.status().message().size(), 300u);
  EXPECT_NE(r.status().message().find("(10000 bytes)"), std::string::npos) << r.status();

  v1::SubmitProofRequest wrap = Fib(1);
  wrap.mutable_builtin()->set_log_rows(4294967295u);
  r = alpha_->Submit(wrap);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("builtin.log_rows", 0), 0u) << r.status();
  wrap.mutable_builtin()->set_log_rows(2147483648u);
  EXPECT_EQ(alpha_->Submit(wrap).status().code(), absl::StatusCode::kInvalidArgument);

  v1::SubmitProofRequest named = WideStatement(2, 4);
  named.mutable_user()->mutable_air()->set_name(std::string(50 << 10, 'n'));
  r = alpha_->Submit(named);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("user.air.name: 51200 bytes", 0), 0u) << r.status();
  // The encoded AIR as a whole (4 MiB by default), checked before anything is copied.
  named.mutable_user()->mutable_air()->set_name(std::string(5 << 20, 'n'));
  r = alpha_->Submit(named);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("user.air: ", 0), 0u) << r.status();
  EXPECT_NE(r.status().message().find("at most 4194304"), std::string::npos) << r.status();

  // The AIR as a whole: 1000 expression nodes at most here (3 per column).
  r = alpha_->Submit(WideStatement(600, 2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("expression"), std::string::npos) << r.status();
  EXPECT_TRUE(alpha_->Submit(WideStatement(100, 2)).ok());
  // Clients can read the limits.
  auto info = alpha_->ServerInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->limits().max_air_nodes(), 1000u);
  EXPECT_EQ(info->limits().max_air_bytes(), 4u << 20);
  EXPECT_EQ(info->limits().max_proof_bytes(), (64u << 20) / 8 * 7);
}

// Item 7: a statement whose proof could exceed what the server serves is refused at once.
TEST_F(GovernanceTest, ProofsLargerThanTheServerServesAreRefusedAtSubmission) {
  StartServer("proofsize", {"--max-proof-bytes", "200000"});
  auto r = alpha_->Submit(WideStatement(2048, 2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(r.status().message().rfind("options: the proof could take up to", 0), 0u) << r.status();
  EXPECT_TRUE(alpha_->Submit(Fib(10)).ok());
}

// Items 7 and 8: proof downloads are bounded per tenant, stream from disk, and never hold up
// another tenant's calls.
TEST_F(GovernanceTest, ProofStreamsAreBoundedAndDoNotBlockOthers) {
  StartServer("streams", {"--max-proof-streams-per-tenant", "4"});
  const v1::Job job = WaitFinal(Submit(WideStatement(1024, 6)).job_id());
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  ASSERT_GT(job.proof_bytes(), 256u << 10) << "larger than the readers' windows";
  RawClient raw(server_->grpc_address(), /*window=*/1024);
  // Four slow readers (1 KiB chunks, never read) hold the tenant's streams.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProofChunk>>> readers;
  for (int i = 0; i < 4; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    RawClient::Authorize(*contexts.back());
    v1::GetProofRequest req;
    req.set_job_id(job.job_id());
    req.set_chunk_bytes(1024);
    readers.push_back(raw.stub->GetProof(contexts.back().get(), req));
    v1::ProofChunk first;
    ASSERT_TRUE(readers.back()->Read(&first));
  }
  auto fifth = alpha_->FetchProof(job.job_id());
  EXPECT_EQ(fifth.status().code(), absl::StatusCode::kResourceExhausted) << fifth.status();
  EXPECT_LT(Seconds([&] { EXPECT_TRUE(beta_->ServerInfo().ok()); }), 1.0);
  EXPECT_LT(Seconds([&] { EXPECT_TRUE(alpha_->GetJob(job.job_id()).ok()); }), 1.0);
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
  // Released: a whole download works again.
  for (int i = 0; i < 50; ++i) {
    auto proof = alpha_->FetchProof(job.job_id());
    if (proof.ok()) {
      EXPECT_EQ(proof->size(), job.proof_bytes());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "the stream slots were never released";
}

// Item 6: open WaitJob and WatchJob calls are bounded per tenant (each holds a Job).
TEST_F(GovernanceTest, WatchesAreBoundedPerTenant) {
  StartServer("watches", {"--max-watches-per-tenant", "2", "--cpu-jobs", "1"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  const v1::Job job = Submit(grind);
  RawClient raw(server_->grpc_address());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Job>>> watches;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    RawClient::Authorize(*contexts.back());
    v1::WatchJobRequest req;
    req.set_job_id(job.job_id());
    watches.push_back(raw.stub->WatchJob(contexts.back().get(), req));
    v1::Job first;
    ASSERT_TRUE(watches.back()->Read(&first));
  }
  auto third = alpha_->WaitJob(job.job_id(), std::chrono::milliseconds(100));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_TRUE(beta_->GetJob(job.job_id()).status().code() == absl::StatusCode::kNotFound);
  for (auto& c : contexts) c->TryCancel();
  for (auto& w : watches) w->Finish();
  for (int i = 0; i < 50; ++i) {
    if (alpha_->WaitJob(job.job_id(), std::chrono::milliseconds(10)).ok()) {
      ASSERT_TRUE(alpha_->Cancel(job.job_id()).ok());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "the watch slots were never released";
}

// A W3C traceparent on the submission is carried into every log line of the job.
TEST_F(GovernanceTest, TheTraceIdFollowsTheJobThroughTheLog) {
  StartServer("trace");
  RawClient raw(server_->grpc_address());
  grpc::ClientContext ctx;
  RawClient::Authorize(ctx);
  ctx.AddMetadata("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  v1::SubmitProofResponse resp;
  ASSERT_TRUE(raw.stub->SubmitProof(&ctx, Fib(6), &resp).ok());
  WaitFinal(resp.job().job_id());
  std::istringstream log(server_->Log());
  int lines = 0;
  for (std::string line; std::getline(log, line);) {
    if (line.find(resp.job().job_id()) == std::string::npos) continue;
    ++lines;
    EXPECT_NE(line.find("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""), std::string::npos)
        << line;
  }
  EXPECT_GE(lines, 3) << "queued, started, finished";
}

// Item 14: an operator's FIFO in place of a proof does not hang GetProof.
TEST_F(GovernanceTest, AFifoInPlaceOfAProofIsDataLossNotAHang) {
  StartServer("fifo");
  const v1::Job job = WaitFinal(Submit(Fib(6)).job_id());
  const std::string path = server_->data_dir() + "/artifacts/proofs/" + job.job_id() + ".proof";
  std::filesystem::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  absl::Status s;
  EXPECT_LT(Seconds([&] { s = alpha_->FetchProof(job.job_id()).status(); }), 2.0);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

// Item 8: ListJobs refuses unbounded filters and dedupes the states it is given.
TEST_F(GovernanceTest, ListJobsFiltersAreBounded) {
  StartServer("list");
  WaitFinal(Submit(Fib(5)).job_id());
  v1::ListJobsRequest dup;
  for (int i = 0; i < 16; ++i) dup.add_states(v1::SUCCEEDED);
  auto listed = alpha_->List(dup);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->jobs_size(), 1);
  v1::ListJobsRequest huge;
  for (int i = 0; i < 100000; ++i) huge.add_states(v1::SUCCEEDED);
  EXPECT_EQ(alpha_->List(huge).status().code(), absl::StatusCode::kInvalidArgument);
  // Pages (read from the jobs' published views, not under the job table's lock) cover every
  // job once, newest first.
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.insert(Submit(Fib(3)).job_id());
  for (const auto& id : ids) WaitFinal(id);
  v1::ListJobsRequest page;
  page.set_page_size(7);
  page.add_states(v1::SUCCEEDED);
  std::vector<v1::Job> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto r = alpha_->List(page);
    ASSERT_TRUE(r.ok()) << r.status();
    seen.insert(seen.end(), r->jobs().begin(), r->jobs().end());
    if (r->next_page_token().empty()) break;
    page.set_page_token(r->next_page_token());
  }
  ASSERT_EQ(seen.size(), 21u);
  std::set<std::string> unique;
  for (size_t i = 0; i < seen.size(); ++i) {
    unique.insert(seen[i].job_id());
    if (i > 0) {
      EXPECT_GE(seen[i - 1].created_ms(), seen[i].created_ms());
    }
    EXPECT_EQ(seen[i].state(), v1::SUCCEEDED);
  }
  EXPECT_EQ(unique.size(), 21u);
}

// Item 9: uploads are admitted against the upload buffer, time out when idle, and a
// cancelled upload is an abort.
TEST_F(GovernanceTest, UploadsAreBoundedTimedOutAndCancellable) {
  StartServer("upload", {"--max-upload-buffer-bytes", "8388608", "--upload-idle-timeout-s", "1"});
  RawClient raw(server_->grpc_address());
  v1::SubmitProofRequest head = WideStatement(2, 4);
  const std::string trace = head.user().trace();
  head.mutable_user()->clear_trace();
  auto open_upload = [&](grpc::ClientContext& ctx, v1::SubmitProofResponse& resp) {
    RawClient::Authorize(ctx);
    auto writer = raw.stub->UploadProof(&ctx, &resp);
    v1::UploadProofRequest first;
    *first.mutable_request() = head;
    EXPECT_TRUE(writer->Write(first));
    return writer;
  };
  // An idle upload is aborted after the timeout and makes no job.
  {
    grpc::ClientContext ctx;
    v1::SubmitProofResponse resp;
    auto writer = open_upload(ctx, resp);
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status s = writer->Finish();
    EXPECT_FALSE(s.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  }
  // An upload needs twice its size in the buffer (validation decodes a copy): 3 MiB can
  // never fit a tenant's half of 8 MiB, and is refused at the chunk that passes it.
  {
    grpc::ClientContext ctx;
    v1::SubmitProofResponse resp;
    auto writer = open_upload(ctx, resp);
    v1::UploadProofRequest chunk;
    chunk.set_trace_chunk(std::string(3 << 20, 'x'));
    writer->Write(chunk);
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_NE(s.error_message().find("more than a tenant may hold"), std::string::npos)
        << s.error_message();
  }
  // Tenant alpha may hold half of the 8 MiB buffer: 1.5 MiB in flight (3 MiB admitted), then
  // 1.5 MiB more is refused until the first ends.
  {
    grpc::ClientContext ctx;
    v1::SubmitProofResponse resp;
    auto writer = open_upload(ctx, resp);
    v1::UploadProofRequest chunk;
    chunk.set_trace_chunk(std::string(3 << 19, 'x'));
    ASSERT_TRUE(writer->Write(chunk));
    // The server admits the chunk when it reads it; give it time before the second upload,
    // well within the 1 s idle timeout that would end the first.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    grpc::ClientContext ctx2;
    v1::SubmitProofResponse resp2;
    auto second = open_upload(ctx2, resp2);
    second->Write(chunk);
    second->WritesDone();
    const grpc::Status s2 = second->Finish();
    EXPECT_EQ(s2.error_code(), grpc::RESOURCE_EXHAUSTED) << s2.error_message();
    EXPECT_NE(s2.error_message().find("retry shortly"), std::string::npos) << s2.error_message();
    ctx.TryCancel();
    writer->Finish();
  }
  // A stream the client cancels after its last chunk (before closing it) makes no job.
  {
    grpc::ClientContext ctx;
    v1::SubmitProofResponse resp;
    auto writer = open_upload(ctx, resp);
    v1::UploadProofRequest chunk;
    chunk.set_trace_chunk(trace);
    ASSERT_TRUE(writer->Write(chunk));
    ctx.TryCancel();
    EXPECT_FALSE(writer->Finish().ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  v1::ListJobsRequest all;
  EXPECT_EQ(alpha_->List(all)->jobs_size(), 0);
  // A complete upload still works.
  auto done = alpha_->Upload(head, trace);
  EXPECT_TRUE(done.ok()) << done.status();
}

// Item 10: descriptor exhaustion (idle connections) never fails a job: it waits and
// succeeds once descriptors are back.
TEST_F(GovernanceTest, DescriptorExhaustionDelaysJobsNeverFailsThem) {
  dir_ = TempDir("fds");
  server_ = std::make_unique<ProverdProcess>(
      dir_ + "/data", std::vector<std::string>{"--api-keys", KeysFile(dir_), "--rate-limit", "0",
                                               "--cpu-jobs", "1"});
  server_->set_nofile_limit(160);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  beta_ = server_->Client(kBeta);
  ASSERT_TRUE(alpha_->ServerInfo().ok());
  const v1::Job job = Submit(Fib(16));
  WaitRunning(job.job_id());
  // Idle TCP connections until the server's table is full.
  const size_t colon = server_->grpc_address().rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(server_->grpc_address().substr(colon + 1))));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  std::vector<int> sockets;
  for (int i = 0; i < 300; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) sockets.push_back(fd);
  }
  // The proof is done long before this; writing it meets the full table.
  std::this_thread::sleep_for(std::chrono::milliseconds(5000));
  EXPECT_NE(alpha_->GetJob(job.job_id())->state(), v1::FAILED);
  for (int fd : sockets) ::close(fd);
  auto done = alpha_->WaitFinal(job.job_id(), std::chrono::seconds(120));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::SUCCEEDED) << done->error();
  EXPECT_GE(done->attempts(), 2u);
  EXPECT_NE(server_->Log().find("job waits for resources"), std::string::npos);
  // gRPC's own complaints (accept4 failing with EMFILE) arrive as JSON lines too.
  std::istringstream log(server_->Log());
  std::string line;
  bool grpc_line = false;
  while (std::getline(log, line)) {
    EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u) << "not a JSON log line: " << line;
    grpc_line |= line.find("\"msg\":\"grpc\"") != std::string::npos;
  }
  EXPECT_TRUE(grpc_line) << "gRPC reported nothing while descriptors ran out";
}

// Item 11: priority orders a tenant's own jobs; between tenants, fairness.
TEST_F(GovernanceTest, OneTenantsPriorityDoesNotStarveAnother) {
  StartServer("priority", {"--cpu-jobs", "1"});
  v1::SubmitProofRequest grind = Fib(4);
  grind.mutable_options()->set_grinding_bits(32);
  const v1::Job blocker = Submit(grind);
  WaitRunning(blocker.job_id());
  std::vector<std::string> urgent;
  for (int i = 0; i < 6; ++i) {
    v1::SubmitProofRequest r = Fib(12);
    r.set_priority(100);
    urgent.push_back(Submit(r).job_id());
  }
  const v1::Job low = Submit(Fib(12), beta_.get());
  ASSERT_TRUE(alpha_->Cancel(blocker.job_id()).ok());
  auto b = beta_->WaitFinal(low.job_id(), std::chrono::seconds(60));
  ASSERT_TRUE(b.ok());
  int before = 0;
  for (const auto& id : urgent) {
    const v1::Job a = WaitFinal(id);
    before += a.started_ms() < b->started_ms();
  }
  EXPECT_LE(before, 1) << "beta's job waited behind alpha's high-priority burst";
}

// Item 12: idle, half-sent requests do not stop /metrics.
TEST_F(GovernanceTest, HalfSentRequestsDoNotBlockMetrics) {
  StartServer("metricsport");
  const std::string address = server_->metrics_address();
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    ASSERT_GT(::write(fd, partial, sizeof partial - 1), 0);
    idle.push_back(fd);
  }
  std::string body;
  EXPECT_LT(Seconds([&] { body = HttpGet(address, "/metrics"); }), 2.0);
  EXPECT_NE(body.find("prover_queue_depth"), std::string::npos);
  for (int fd : idle) ::close(fd);
}

// Item 13: every start-up failure is one line naming the path, exit status 2, no crash.
struct Exit {
  int status = -1;
  std::string err;
};
Exit RunProverd(const std::string& data_dir, const std::string& dir) {
  const std::string err = dir + "/stderr.txt";
  const std::string cmd = testing::BinDir() + "/proverd --insecure-loopback --listen 127.0.0.1:0" +
                          " --metrics-listen '' --data-dir '" + data_dir + "' 2>'" + err + "'";
  const int rc = std::system(cmd.c_str());
  Exit e;
  e.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  e.err = ss.str();
  return e;
}

TEST(GovernanceStartup, BadDataDirectoriesAreOneLineErrorsWithExitStatusTwo) {
  const std::string dir = TempDir("startup");
  // The error is the last line of stderr (earlier lines are the start-up's info log).
  auto last_line = [](const std::string& err) {
    const size_t end = err.find_last_not_of('\n');
    if (end == std::string::npos) return std::string();
    const size_t begin = err.rfind('\n', end);
    return err.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin + 1));
  };
  auto expect_refusal = [&](const std::string& data_dir, const std::string& what) {
    const Exit e = RunProverd(data_dir, dir);
    EXPECT_EQ(e.status, 2) << what << ": " << e.err;
    const std::string line = last_line(e.err);
    EXPECT_EQ(line.rfind("proverd: ", 0), 0u) << what << ": " << e.err;
    EXPECT_NE(line.find(data_dir), std::string::npos) << what << ": " << e.err;
    EXPECT_EQ(e.err.find("\"level\":\"error\""), std::string::npos) << e.err;
  };
  // The data directory is a file.
  const std::string file = dir + "/a-file";
  std::ofstream(file) << "x";
  expect_refusal(file, "a file");
  // Random bytes, and a truncated database.
  const std::string random = dir + "/random";
  std::filesystem::create_directories(random);
  {
    std::ofstream out(random + "/prover.db", std::ios::binary);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 8192; ++i) out.put(char(rng()));
  }
  expect_refusal(random, "random bytes");
  const std::string truncated = dir + "/truncated";
  std::filesystem::create_directories(truncated);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((truncated + "/prover.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    std::filesystem::resize_file(truncated + "/prover.db", 1000);
  }
  expect_refusal(truncated, "truncated");
  // A newer schema than this binary knows.
  const std::string newer = dir + "/newer";
  std::filesystem::create_directories(newer);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((newer + "/prover.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  const Exit e = RunProverd(newer, dir);
  EXPECT_EQ(e.status, 2) << e.err;
  EXPECT_NE(e.err.find("newer than this proverd supports"), std::string::npos) << e.err;
}

// Item 14: a row with a state this binary does not know is settled as FAILED, not left.
TEST_F(GovernanceTest, AnUnknownStateInARowSettlesAsFailed) {
  StartServer("unknownstate");
  const v1::Job job = WaitFinal(Submit(Fib(5)).job_id());
  server_->Stop();
  ExecOnJobTable("UPDATE jobs SET state = 42");
  ASSERT_TRUE(server_->Start()) << server_->Log();
  alpha_ = server_->Client(kAlpha);
  const v1::Job j = *alpha_->GetJob(job.job_id());
  EXPECT_EQ(j.state(), v1::FAILED);
  EXPECT_EQ(j.cause(), v1::INTERNAL);
  EXPECT_NE(j.error().find("unknown state 42"), std::string::npos) << j.error();
}

// Item 14: a body that is not protobuf, and an unknown method, get a clear answer and are
// counted.
TEST_F(GovernanceTest, BodiesThatAreNotProtobufAreInvalidArgumentAndCounted) {
  StartServer("garbage");
  grpc::GenericStub stub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  auto call = [&](const std::string& method) {
    grpc::ClientContext ctx;
    RawClient::Authorize(ctx);
    const std::string junk = "\xff\xff\xff\xff\x0f not a protobuf message";
    grpc::Slice slice(junk);
    grpc::ByteBuffer req(&slice, 1), resp;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      status = s;
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  };
  const grpc::Status submit = call("/prover.v1.Prover/SubmitProof");
  EXPECT_EQ(submit.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submit.error_message().rfind("request: the body is not a protobuf", 0), 0u)
      << submit.error_message();
  const grpc::Status unknown = call("/prover.v1.Prover/Nope");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(unknown.error_message().find("/prover.v1.Prover/Nope"), std::string::npos);
  const std::string metrics = HttpGet(server_->metrics_address(), "/metrics");
  EXPECT_EQ(MetricValue(metrics,
                        "prover_requests_total{code=\"INVALID_ARGUMENT\",method=\"SubmitProof\"}"),
            1);
  EXPECT_EQ(
      MetricValue(metrics, "prover_requests_total{code=\"UNIMPLEMENTED\",method=\"unknown\"}"), 1);
  EXPECT_TRUE(alpha_->ServerInfo().ok());
}

}  // namespace
}  // namespace prover
