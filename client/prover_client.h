// The C++ client of the proving service (prover.v1.Prover over gRPC).
//
//   auto client = ProverClient::Connect({.target = "127.0.0.1:50051", .api_key = key});
//   v1::SubmitProofRequest req;  // builtin fibonacci 2^12 ...
//   auto job = (*client)->Submit(req);           // durable once it returns
//   auto done = (*client)->WaitFinal(job->job().job_id());
//   auto proof = (*client)->FetchProof(done->job_id());  // checksum verified
//
// Every call returns the server's status as an absl::Status (same codes, same message).
// Submit retries UNAVAILABLE a few times with the same request id, so a retry can never
// create a second job. Thread-safe: one client may be shared by many threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "prover/v1/prover.grpc.pb.h"

namespace prover::client {

struct ClientOptions {
  std::string target;   // HOST:PORT
  std::string api_key;  // sent as "authorization: Bearer KEY" when not empty
  bool tls = false;
  std::string tls_ca_file;      // PEM roots; empty: the system's
  std::string tls_server_name;  // override of the name checked in the certificate
  uint64_t max_message_bytes = 64ull << 20;
  std::chrono::milliseconds call_timeout{60000};  // unary calls
};

class ProverClient {
 public:
  static absl::StatusOr<std::unique_ptr<ProverClient>> Connect(const ClientOptions& options);

  // A request with a user statement whose trace is larger than `inline_limit` goes through
  // UploadProof in chunks; otherwise SubmitProof carries it inline.
  absl::StatusOr<v1::SubmitProofResponse> Submit(const v1::SubmitProofRequest& request,
                                                 size_t inline_limit = 4u << 20);
  // Streams `trace` after the request (whose user.trace must be empty).
  absl::StatusOr<v1::SubmitProofResponse> Upload(const v1::SubmitProofRequest& request,
                                                 std::string_view trace,
                                                 size_t chunk_bytes = 1u << 20);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  // One long poll of at most `timeout`.
  absl::StatusOr<v1::Job> WaitJob(const std::string& job_id, std::chrono::milliseconds timeout);
  // Long polls until the job is final or `total` passes (then DEADLINE_EXCEEDED).
  absl::StatusOr<v1::Job> WaitFinal(const std::string& job_id,
                                    std::chrono::milliseconds total = std::chrono::hours(24));
  // Calls `on_update` for every state the server streams; OK after the final state.
  absl::Status Watch(const std::string& job_id,
                     const std::function<void(const v1::Job&)>& on_update);
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id);
  absl::StatusOr<v1::ListJobsResponse> List(const v1::ListJobsRequest& request);
  // The whole proof, its SHA-256 checked against the server's (DATA_LOSS otherwise).
  absl::StatusOr<std::string> FetchProof(const std::string& job_id);
  absl::StatusOr<v1::VerifyProofResponse> Verify(const v1::VerifyProofRequest& request);
  absl::StatusOr<v1::ServerInfo> ServerInfo();
  // grpc.health.v1 Check of the whole server: true when SERVING. Needs no key.
  absl::StatusOr<bool> Healthy(const std::string& service = "");

  v1::Prover::Stub& stub() { return *stub_; }

 private:
  explicit ProverClient(const ClientOptions& options) : options_(options) {}
  void Prepare(grpc::ClientContext& ctx, bool with_deadline = true) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Prover::Stub> stub_;
};

absl::Status FromGrpc(const grpc::Status& s);
// A fresh random request id (128 bits, hex).
std::string NewRequestId();

}  // namespace prover::client
