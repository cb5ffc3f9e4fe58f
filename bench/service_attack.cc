// service-attack: the attacks of issue 14 against a real proverd with a configured budget,
// one after the other, each measured: proverd's peak resident memory during the attack
// (its VmHWM, reset before each), what the attacker got, and how another tenant fared
// meanwhile (the latency of its calls, and whether its job succeeded). Prints one JSON
// object per attack and writes them all to --out FILE as a JSON array.
//
//   service-attack [--out FILE] [--scale small|full]
//
// `full` is the sizes (700 MiB uploads, 1,100 connections, 60 MiB proofs); `small`
// (the default) the same attacks at a tenth of the sizes. docs/OPERATIONS.md ("Resources")
// and docs/BENCHMARKS.md give the budget and the figures.
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/testing/chain_air.h"
#include "tests/service_helpers.h"

namespace prover {
namespace {

using testing::ProverdProcess;

uint64_t StatusField(pid_t pid, const char* name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) return std::stoull(line.substr(std::strlen(name))) * 1024;
  }
  return 0;
}

struct Scale {
  bool full = false;
  uint64_t junk_proof_bytes() const { return full ? 60ull << 20 : 6ull << 20; }
  uint64_t upload_bytes() const { return full ? 700ull << 20 : 70ull << 20; }
  int connections() const { return full ? 1100 : 300; }
  uint64_t name_bytes() const { return full ? 50ull << 20 : 5ull << 20; }
};

// The budget the attacks run against (what docs/OPERATIONS.md calls the configured budget).
const std::vector<std::string> kBudget = {
    "--cpu-memory-bytes",
    "2147483648",  // 2 GiB for proofs
    "--verify-memory-bytes",
    "268435456",  // 256 MiB for verification
    "--max-upload-buffer-bytes",
    "536870912",  // 512 MiB of uploads in flight
    "--max-message-bytes",
    "67108864",  // 64 MiB messages (gRPC quota: 256 MiB)
    "--max-proof-streams-per-tenant",
    "16",
    "--upload-idle-timeout-s",
    "5",
    "--cpu-jobs",
    "1",
    "--rate-limit",
    "0",
};
constexpr uint64_t kBudgetBytes = (2048ull + 256 + 512 + 256 + 64) << 20;

class Attacks {
 public:
  Attacks(Scale scale, std::string dir) : scale_(scale), dir_(std::move(dir)) {}

  bool Start() {
    std::vector<std::string> flags = {"--api-keys", KeysFile(dir_)};
    flags.insert(flags.end(), kBudget.begin(), kBudget.end());
    server_ = std::make_unique<ProverdProcess>(dir_ + "/data", flags);
    if (!server_->Start()) return false;
    attacker_ = server_->Client(kAlpha);
    victim_ = server_->Client(kBeta);
    return true;
  }

  // Runs `attack` while the victim tenant calls GetServerInfo every 50 ms; records the
  // peak RSS and the victim's slowest call.
  void Run(const std::string& name, const std::function<std::string()>& attack) {
    const pid_t pid = server_->pid();
    const uint64_t before = StatusField(pid, "VmRSS:");
    { std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5"; }
    std::atomic<bool> stop{false};
    std::atomic<double> worst{0};
    std::thread victim([&] {
      auto c = server_->Client(kBeta);
      while (!stop) {
        const double s = Seconds([&] { (void)c->ServerInfo(); });
        if (s > worst) worst = s;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    const auto t0 = std::chrono::steady_clock::now();
    const std::string outcome = attack();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stop = true;
    victim.join();
    const uint64_t peak = StatusField(pid, "VmHWM:");
    // The victim's own job still runs to the end.
    std::string job_state = "none";
    auto job = victim_->Submit(Fib(12));
    if (job.ok()) {
      auto done = victim_->WaitFinal(job->job().job_id(), std::chrono::seconds(120));
      job_state =
          done.ok() ? v1::JobState_Name(done->state()) : std::string(done.status().message());
    } else {
      job_state = std::string(job.status().message());
    }
    const std::string json = absl::StrCat(
        "{\"attack\":\"", name, "\",\"seconds\":", seconds, ",\"rss_before_bytes\":", before,
        ",\"peak_rss_bytes\":", peak, ",\"budget_bytes\":", kBudgetBytes,
        ",\"victim_worst_call_ms\":", int(worst * 1000), ",\"victim_job\":\"", job_state,
        "\",\"outcome\":\"", outcome, "\"}");
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    results_.push_back(json);
  }

  // Concurrent calls of `fn`, counting the status codes they end with.
  static std::string Burst(int n, const std::function<absl::Status()>& fn) {
    std::vector<std::thread> threads;
    std::mutex mu;
    std::map<std::string, int> codes;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&] {
        const absl::Status s = fn();
        std::lock_guard<std::mutex> lock(mu);
        ++codes[absl::StatusCodeToString(s.code())];
      });
    }
    for (auto& t : threads) t.join();
    std::string out;
    for (const auto& [code, count] : codes)
      absl::StrAppend(&out, out.empty() ? "" : " ", code, "=", count);
    return out;
  }

  void All() {
    Run("verify_builtin_zkvm_scale_22_x8", [&] {
      v1::VerifyProofRequest r;
      r.mutable_builtin()->set_workload("zkvm");
      r.mutable_builtin()->set_scale(22);
      r.set_proof("junk");
      return Burst(8, [&] { return server_->Client(kAlpha)->Verify(r).status(); });
    });
    Run("verify_junk_proofs_x24", [&] {
      v1::VerifyProofRequest r;
      *r.mutable_builtin() = Fib(20).builtin();
      for (uint64_t x : {0ull, 1ull, 2ull}) r.add_public_inputs(x);
      r.set_proof(std::string(scale_.junk_proof_bytes(), 'x'));
      return Burst(24, [&] { return server_->Client(kAlpha)->Verify(r).status(); });
    });
    Run("expression_arena_2^19_nodes", [&] {
      auto r = attacker_->Submit(Chain(11, 1u << 19));
      return absl::StrCat("submit: ", absl::StatusCodeToString(r.status().code()));
    });
    Run("expression_arena_65536_nodes_admitted", [&] {
      auto r = attacker_->Submit(Chain(11, 65536));
      if (!r.ok()) return absl::StrCat("submit: ", absl::StatusCodeToString(r.status().code()));
      auto done = attacker_->WaitFinal(r->job().job_id(), std::chrono::seconds(300));
      return absl::StrCat("job: ", done.ok() ? v1::JobState_Name(done->state()) : "?");
    });
    Run("cancel_during_32_bit_grinding", [&] {
      v1::SubmitProofRequest g = Fib(4);
      g.mutable_options()->set_grinding_bits(32);
      auto r = attacker_->Submit(g);
      if (!r.ok()) return std::string("submit failed");
      for (int i = 0; i < 500; ++i) {
        if (attacker_->GetJob(r->job().job_id())->stage() == "grinding") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      double s = Seconds([&] {
        (void)attacker_->Cancel(r->job().job_id());
        (void)attacker_->WaitFinal(r->job().job_id(), std::chrono::seconds(60));
      });
      return absl::StrCat("cancelled in ", int(s * 1000), " ms");
    });
    Run("air_names_x40", [&] {
      v1::SubmitProofRequest named = WideStatement(2, 4);
      named.mutable_user()->mutable_air()->set_name(std::string(scale_.name_bytes(), 'n'));
      return Burst(40, [&] { return server_->Client(kAlpha)->Submit(named).status(); });
    });
    std::string proof_job;
    {
      auto r = attacker_->Submit(WideStatement(1024, 6));
      if (r.ok()) {
        auto done = attacker_->WaitFinal(r->job().job_id(), std::chrono::seconds(300));
        if (done.ok() && done->state() == v1::SUCCEEDED) proof_job = done->job_id();
      }
    }
    Run("slow_proof_readers_x64", [&] {
      RawClient raw(server_->grpc_address(), /*window=*/1024);
      std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
      std::vector<std::unique_ptr<grpc::ClientReader<v1::ProofChunk>>> readers;
      int open = 0;
      for (int i = 0; i < 64; ++i) {
        contexts.push_back(std::make_unique<grpc::ClientContext>());
        RawClient::Authorize(*contexts.back());
        v1::GetProofRequest req;
        req.set_job_id(proof_job);
        req.set_chunk_bytes(1024);  // many small chunks: a reader that stops holds its stream
        readers.push_back(raw.stub->GetProof(contexts.back().get(), req));
        v1::ProofChunk first;
        open += readers.back()->Read(&first) ? 1 : 0;
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
      for (auto& c : contexts) c->TryCancel();
      for (auto& r : readers) r->Finish();
      return absl::StrCat(open, " of 64 streams admitted");
    });
    Run("list_jobs_huge_filter_x8", [&] {
      v1::ListJobsRequest huge;
      for (int i = 0; i < 500000; ++i) huge.add_states(v1::SUCCEEDED);
      return Burst(8, [&] { return server_->Client(kAlpha)->List(huge).status(); });
    });
    Run("unfinished_uploads_x3", [&] {
      RawClient raw(server_->grpc_address());
      std::vector<std::thread> threads;
      std::mutex mu;
      std::vector<std::string> codes;
      for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&] {
          grpc::ClientContext ctx;
          RawClient::Authorize(ctx);
          v1::SubmitProofResponse resp;
          auto w = raw.stub->UploadProof(&ctx, &resp);
          v1::UploadProofRequest first;
          v1::SubmitProofRequest head = WideStatement(2, 4);
          head.mutable_user()->clear_trace();
          *first.mutable_request() = head;
          w->Write(first);
          v1::UploadProofRequest chunk;
          chunk.set_trace_chunk(std::string(4 << 20, 'x'));
          for (uint64_t sent = 0; sent < scale_.upload_bytes(); sent += 4 << 20) {
            if (!w->Write(chunk)) break;
          }
          const grpc::Status s = w->Finish();  // never WritesDone: idle until cut off
          std::lock_guard<std::mutex> lock(mu);
          codes.push_back(std::to_string(int(s.error_code())));
        });
      }
      for (auto& t : threads) t.join();
      std::string out = "codes";
      for (auto& c : codes) absl::StrAppend(&out, " ", c);
      return out;
    });
    Run("idle_connections", [&] {
      const std::string& a = server_->grpc_address();
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(uint16_t(std::stoi(a.substr(a.rfind(':') + 1))));
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      std::vector<int> fds;
      for (int i = 0; i < scale_.connections(); ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
          fds.push_back(fd);
        } else if (fd >= 0) {
          ::close(fd);
        }
      }
      auto r = victim_->Submit(Fib(14));
      std::string state = "refused";
      if (r.ok()) {
        auto done = victim_->WaitFinal(r->job().job_id(), std::chrono::seconds(120));
        state = done.ok() ? v1::JobState_Name(done->state()) : "?";
      }
      for (int fd : fds) ::close(fd);
      return absl::StrCat(fds.size(), " connections held; victim job ", state);
    });
    Run("metrics_half_sent_requests", [&] {
      const std::string a = server_->metrics_address();
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(uint16_t(std::stoi(a.substr(a.rfind(':') + 1))));
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      std::vector<int> fds;
      for (int i = 0; i < 2; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        const char partial[] = "GET /metrics HTTP/1.1\r\n";
        (void)::write(fd, partial, sizeof partial - 1);
        fds.push_back(fd);
      }
      const double s = Seconds([&] { HttpGet(a, "/metrics"); });
      for (int fd : fds) ::close(fd);
      return absl::StrCat("GET /metrics in ", int(s * 1000), " ms");
    });
    Run("priority_burst_x20", [&] {
      v1::SubmitProofRequest g = Fib(4);
      g.mutable_options()->set_grinding_bits(32);
      auto blocker = attacker_->Submit(g);
      std::vector<std::string> ids;
      for (int i = 0; i < 20; ++i) {
        v1::SubmitProofRequest r = Fib(12);
        r.set_priority(100);
        auto s = attacker_->Submit(r);
        if (s.ok()) ids.push_back(s->job().job_id());
      }
      auto low = victim_->Submit(Fib(12));
      if (blocker.ok()) (void)attacker_->Cancel(blocker->job().job_id());
      if (!low.ok()) return std::string("victim refused");
      auto done = victim_->WaitFinal(low->job().job_id(), std::chrono::seconds(120));
      int before = 0;
      for (const auto& id : ids) {
        auto j = attacker_->WaitFinal(id, std::chrono::seconds(120));
        if (j.ok() && done.ok() && j->started_ms() < done->started_ms()) ++before;
      }
      return absl::StrCat(before, " of 20 high-priority jobs ran before the other tenant's");
    });
  }

  void Write(const std::string& path) const {
    std::ofstream out(path);
    out << "[\n";
    for (size_t i = 0; i < results_.size(); ++i)
      out << "  " << results_[i] << (i + 1 < results_.size() ? ",\n" : "\n");
    out << "]\n";
  }

 private:
  // The expression-arena attack's statement (engine/testing/chain_air.h) as a request.
  static v1::SubmitProofRequest Chain(int log_rows, uint32_t nodes) {
    const air::WorkloadInstance w = testing::ChainAir(log_rows, nodes);
    v1::SubmitProofRequest req;
    *req.mutable_user()->mutable_air() = air::AirToProto(w.air);
    const auto bytes = air::EncodeTrace(w.trace);
    req.mutable_user()->set_trace(std::string(bytes.begin(), bytes.end()));
    return req;
  }

  Scale scale_;
  std::string dir_;
  std::unique_ptr<ProverdProcess> server_;
  std::unique_ptr<client::ProverClient> attacker_, victim_;
  std::vector<std::string> results_;
};

}  // namespace
}  // namespace prover

int main(int argc, char** argv) {
  std::string out = "service-attack.json";
  prover::Scale scale;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--out") {
      out = value;
    } else if (flag == "--scale") {
      scale.full = value == "full";
    } else {
      std::fprintf(stderr, "usage: service-attack [--out FILE] [--scale small|full]\n");
      return 2;
    }
  }
  prover::Attacks attacks(scale, prover::TempDir("attack"));
  if (!attacks.Start()) {
    std::fprintf(stderr, "service-attack: proverd did not start\n");
    return 1;
  }
  attacks.All();
  attacks.Write(out);
  return 0;
}
