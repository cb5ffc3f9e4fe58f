// The gRPC front end (callback API): authenticate, rate-limit, validate, hand to the job
// manager, answer. Handlers never wait for proving work; long polls and watches are
// reactors woken by job changes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "prover/v1/prover.grpc.pb.h"
#include "server/auth.h"
#include "server/job_manager.h"
#include "server/metrics.h"
#include "server/timer_queue.h"

namespace prover::server {

struct ServiceOptions {
  // Without keys every caller is the tenant "local" (--insecure-loopback).
  std::shared_ptr<const KeyRing> keys;
  double rate_limit_per_second = 200;
  double rate_limit_burst = 400;
  uint64_t max_message_bytes = 64ull << 20;
  uint64_t max_upload_bytes = 1ull << 30;
  uint32_t max_wait_ms = 60000;
  std::vector<std::string> unavailable_engines;
};

class ProverService final : public v1::Prover::CallbackService {
 public:
  ProverService(JobManager* manager, Metrics* metrics, ServiceOptions options);
  ~ProverService() override;

  grpc::ServerUnaryReactor* SubmitProof(grpc::CallbackServerContext* ctx,
                                        const v1::SubmitProofRequest* request,
                                        v1::SubmitProofResponse* response) override;
  grpc::ServerReadReactor<v1::UploadProofRequest>* UploadProof(
      grpc::CallbackServerContext* ctx, v1::SubmitProofResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* WaitJob(grpc::CallbackServerContext* ctx,
                                    const v1::WaitJobRequest* request, v1::Job* response) override;
  grpc::ServerWriteReactor<v1::Job>* WatchJob(grpc::CallbackServerContext* ctx,
                                              const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerWriteReactor<v1::ProofChunk>* GetProof(grpc::CallbackServerContext* ctx,
                                                     const v1::GetProofRequest* request) override;
  grpc::ServerUnaryReactor* VerifyProof(grpc::CallbackServerContext* ctx,
                                        const v1::VerifyProofRequest* request,
                                        v1::VerifyProofResponse* response) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetServerInfoRequest* request,
                                          v1::ServerInfo* response) override;

  // Shared with the reactors.
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

// absl and grpc use the same code numbers.
grpc::Status ToGrpc(const absl::Status& s);

}  // namespace prover::server
