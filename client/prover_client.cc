#include "client/prover_client.h"

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/sha256.h"

namespace prover::client {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(int(s.error_code())), s.error_message());
}

std::string NewRequestId() {
  std::random_device rd;
  std::mt19937_64 rng((uint64_t(rd()) << 32) ^ rd() ^
                      uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  return absl::StrFormat("r%016x%016x", rng(), rng());
}

absl::StatusOr<std::unique_ptr<ProverClient>> ProverClient::Connect(const ClientOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("no server: give --server HOST:PORT or set PROVER_SERVER");
  }
  std::unique_ptr<ProverClient> c(new ProverClient(options));
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      std::ifstream in(options.tls_ca_file);
      if (!in) {
        return absl::InvalidArgumentError(
            absl::StrCat("--tls-ca: cannot read ", options.tls_ca_file));
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      ssl.pem_root_certs = ss.str();
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(int(std::min<uint64_t>(options.max_message_bytes, INT32_MAX)));
  args.SetMaxSendMessageSize(int(std::min<uint64_t>(options.max_message_bytes, INT32_MAX)));
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  c->channel_ = grpc::CreateCustomChannel(options.target, creds, args);
  c->stub_ = v1::Prover::NewStub(c->channel_);
  return c;
}

void ProverClient::Prepare(grpc::ClientContext& ctx, bool with_deadline) const {
  if (!options_.api_key.empty()) ctx.AddMetadata("authorization", "Bearer " + options_.api_key);
  if (with_deadline) ctx.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
}

absl::StatusOr<v1::SubmitProofResponse> ProverClient::Submit(const v1::SubmitProofRequest& request,
                                                             size_t inline_limit) {
  v1::SubmitProofRequest req = request;
  if (req.request_id().empty()) req.set_request_id(NewRequestId());
  if (req.has_user() && req.user().trace().size() > inline_limit) {
    std::string trace;
    trace.swap(*req.mutable_user()->mutable_trace());
    return Upload(req, trace);
  }
  grpc::Status last;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::SubmitProofResponse resp;
    last = stub_->SubmitProof(&ctx, req, &resp);
    if (last.ok()) return resp;
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  return FromGrpc(last);
}

absl::StatusOr<v1::SubmitProofResponse> ProverClient::Upload(const v1::SubmitProofRequest& request,
                                                             std::string_view trace,
                                                             size_t chunk_bytes) {
  v1::SubmitProofRequest req = request;
  if (req.request_id().empty()) req.set_request_id(NewRequestId());
  grpc::ClientContext ctx;
  Prepare(ctx, /*with_deadline=*/false);
  v1::SubmitProofResponse resp;
  auto writer = stub_->UploadProof(&ctx, &resp);
  v1::UploadProofRequest first;
  *first.mutable_request() = req;
  bool ok = writer->Write(first);
  for (size_t off = 0; ok && off < trace.size(); off += chunk_bytes) {
    v1::UploadProofRequest chunk;
    chunk.set_trace_chunk(std::string(trace.substr(off, chunk_bytes)));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  return [&]() -> absl::StatusOr<v1::SubmitProofResponse> {
    const grpc::Status s = writer->Finish();
    if (!s.ok()) return FromGrpc(s);
    return resp;
  }();
}

absl::StatusOr<v1::Job> ProverClient::GetJob(const std::string& job_id) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::Job job;
  const grpc::Status s = stub_->GetJob(&ctx, req, &job);
  if (!s.ok()) return FromGrpc(s);
  return job;
}

absl::StatusOr<v1::Job> ProverClient::WaitJob(const std::string& job_id,
                                              std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*with_deadline=*/false);
  ctx.set_deadline(std::chrono::system_clock::now() + timeout + std::chrono::seconds(10));
  v1::WaitJobRequest req;
  req.set_job_id(job_id);
  req.set_timeout_ms(uint32_t(std::max<int64_t>(1, timeout.count())));
  v1::Job job;
  const grpc::Status s = stub_->WaitJob(&ctx, req, &job);
  if (!s.ok()) return FromGrpc(s);
  return job;
}

absl::StatusOr<v1::Job> ProverClient::WaitFinal(const std::string& job_id,
                                                std::chrono::milliseconds total) {
  const auto end = std::chrono::steady_clock::now() + total;
  int unavailable = 0;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("job ", job_id, " is not finished yet"));
    }
    auto job = WaitJob(job_id, std::min(left, std::chrono::milliseconds(30000)));
    if (!job.ok()) {
      // A restarting server: keep polling for a while.
      if (job.status().code() == absl::StatusCode::kUnavailable && ++unavailable < 60) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      return job.status();
    }
    unavailable = 0;
    const auto st = job->state();
    if (st == v1::SUCCEEDED || st == v1::FAILED || st == v1::CANCELLED) return job;
  }
}

absl::Status ProverClient::Watch(const std::string& job_id,
                                 const std::function<void(const v1::Job&)>& on_update) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*with_deadline=*/false);
  v1::WatchJobRequest req;
  req.set_job_id(job_id);
  auto reader = stub_->WatchJob(&ctx, req);
  v1::Job job;
  while (reader->Read(&job)) on_update(job);
  return FromGrpc(reader->Finish());
}

absl::StatusOr<v1::Job> ProverClient::Cancel(const std::string& job_id) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::CancelJobRequest req;
  req.set_job_id(job_id);
  v1::Job job;
  const grpc::Status s = stub_->CancelJob(&ctx, req, &job);
  if (!s.ok()) return FromGrpc(s);
  return job;
}

absl::StatusOr<v1::ListJobsResponse> ProverClient::List(const v1::ListJobsRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ListJobsResponse resp;
  const grpc::Status s = stub_->ListJobs(&ctx, request, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<std::string> ProverClient::FetchProof(const std::string& job_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*with_deadline=*/false);
  v1::GetProofRequest req;
  req.set_job_id(job_id);
  auto reader = stub_->GetProof(&ctx, req);
  std::string proof, sha256;
  v1::ProofChunk chunk;
  uint64_t total = 0;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != proof.size()) {
      return absl::DataLossError(absl::StrCat("proof of job ", job_id, ": chunk at offset ",
                                              chunk.offset(), ", expected ", proof.size()));
    }
    proof += chunk.data();
    total = chunk.total_bytes();
    if (!chunk.sha256().empty()) sha256 = chunk.sha256();
  }
  if (auto s = FromGrpc(reader->Finish()); !s.ok()) return s;
  if (proof.size() != total || sha256.empty()) {
    return absl::DataLossError(absl::StrCat("proof of job ", job_id, ": incomplete transfer"));
  }
  const std::string actual = server::Sha256Hex(proof);
  if (actual != sha256) {
    return absl::DataLossError(absl::StrCat("proof of job ", job_id, ": sha256 ", actual,
                                            " does not match the server's ", sha256));
  }
  return proof;
}

absl::StatusOr<v1::VerifyProofResponse> ProverClient::Verify(
    const v1::VerifyProofRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::VerifyProofResponse resp;
  const grpc::Status s = stub_->VerifyProof(&ctx, request, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::ServerInfo> ProverClient::ServerInfo() {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ServerInfo info;
  const grpc::Status s = stub_->GetServerInfo(&ctx, v1::GetServerInfoRequest(), &info);
  if (!s.ok()) return FromGrpc(s);
  return info;
}

absl::StatusOr<bool> ProverClient::Healthy(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace prover::client
