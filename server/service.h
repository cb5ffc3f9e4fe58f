// The gRPC front end (callback API): authenticate, rate-limit, validate, hand to the job
// manager, answer. Handlers never block: file reads and writes, hashing, validation and
// verification run in bounded worker pools (server/work_pool.h), admitted against memory
// budgets at the door; long polls and watches are reactors woken by job changes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/support/server_interceptor.h"
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
  // Resources (docs/OPERATIONS.md, "Resources").
  uint32_t io_threads = 4;      // submissions, uploads' end, proof streams
  uint32_t io_queue = 256;      // tasks waiting for them; more: RESOURCE_EXHAUSTED
  uint32_t verify_threads = 2;  // VerifyProof
  uint32_t verify_queue = 16;
  uint64_t verify_memory_bytes = 1ull << 30;  // a tenant may hold half
  uint64_t upload_buffer_bytes = 2ull << 30;  // uploads in flight; a tenant may hold half
  uint32_t upload_idle_timeout_ms = 30000;
  uint32_t max_proof_streams_per_tenant = 16;
  uint32_t max_watches_per_tenant = 1000;  // WaitJob and WatchJob; all tenants: 16 times that
};

class ProverService final : public v1::Prover::CallbackService {
 public:
  ProverService(JobManager* manager, Metrics* metrics, ServiceOptions options);
  ~ProverService() override;

  // After the gRPC server has shut down: finishes the work pools' tasks (submissions,
  // verifications, proof reads), so nothing touches the job manager afterwards.
  void Shutdown();

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

// What gRPC answers by itself, made clear and counted: a body that is not a protobuf
// encoding of the method's request (gRPC 1.51 answers UNIMPLEMENTED with no message)
// becomes INVALID_ARGUMENT naming the problem, and is counted in prover_requests_total.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeStatusInterceptors(Metrics* metrics);

// Calls of methods this server does not have: UNIMPLEMENTED naming the method, counted.
class UnknownMethodService final : public grpc::CallbackGenericService {
 public:
  explicit UnknownMethodService(Metrics* metrics) : metrics_(metrics) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

 private:
  Metrics* metrics_;
};

}  // namespace prover::server
