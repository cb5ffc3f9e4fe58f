#include "server/service.h"

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/air/air_proto.h"
#include "engine/stark/verifier.h"
#include "server/log.h"
#include "server/request.h"
#include "server/sha256.h"

#ifndef PROVER_VERSION
#define PROVER_VERSION "0.0.0"
#endif

namespace prover::server {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(int(s.code())), std::string(s.message()));
}

namespace {

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

bool IsFinal(const v1::Job& j) {
  return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED;
}

absl::Status RequireJobId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("job_id: required");
  if (id.size() > 64) return absl::InvalidArgumentError("job_id: longer than 64 characters");
  return absl::OkStatus();
}

}  // namespace

struct ProverService::Shared {
  JobManager* manager;
  Metrics* metrics;
  ServiceOptions options;
  RateLimiter limiter;
  TimerQueue timers;

  Shared(JobManager* m, Metrics* x, ServiceOptions o)
      : manager(m),
        metrics(x),
        options(std::move(o)),
        limiter(options.rate_limit_per_second, options.rate_limit_burst) {}

  // The caller's tenant, after authentication and its rate limit.
  absl::StatusOr<std::string> Admit(grpc::CallbackServerContext* ctx) {
    std::string tenant = "local";
    if (options.keys) {
      std::string_view auth;
      const auto& md = ctx->client_metadata();
      auto it = md.find("authorization");
      if (it != md.end()) auth = std::string_view(it->second.data(), it->second.size());
      auto t = options.keys->Authenticate(auth);
      if (!t.ok()) {
        metrics->AuthFailure(auth.empty() ? "missing_key" : "bad_key");
        return t.status();
      }
      tenant = *std::move(t);
    }
    if (!limiter.Allow(tenant)) {
      metrics->RateLimited();
      return absl::ResourceExhaustedError(
          absl::StrCat("tenant ", tenant, " exceeds its rate limit of ",
                       options.rate_limit_per_second, " calls per second"));
    }
    return tenant;
  }

  grpc::Status Done(const char* method, const absl::Status& s) {
    const grpc::Status g = ToGrpc(s);
    metrics->Request(method, CodeName(g.error_code()));
    return g;
  }
};

ProverService::ProverService(JobManager* manager, Metrics* metrics, ServiceOptions options)
    : shared_(std::make_shared<Shared>(manager, metrics, std::move(options))) {}

ProverService::~ProverService() = default;

grpc::ServerUnaryReactor* ProverService::SubmitProof(grpc::CallbackServerContext* ctx,
                                                     const v1::SubmitProofRequest* request,
                                                     v1::SubmitProofResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  if (!tenant.ok()) {
    reactor->Finish(shared_->Done("SubmitProof", tenant.status()));
    return reactor;
  }
  shared_->metrics->BytesReceived(request->ByteSizeLong());
  v1::SubmitProofRequest copy = *request;
  std::string trace;
  if (copy.has_user()) trace.swap(*copy.mutable_user()->mutable_trace());
  shared_->manager->Submit(
      *tenant, std::move(copy), std::move(trace),
      [shared = shared_, reactor, response](absl::StatusOr<v1::Job> job, bool deduplicated) {
        if (job.ok()) {
          *response->mutable_job() = *std::move(job);
          response->set_deduplicated(deduplicated);
        }
        reactor->Finish(shared->Done("SubmitProof", job.status()));
      });
  return reactor;
}

namespace {

// Stores a watch token in a reactor's state, or releases it at once when the reactor
// finished (OnDone ran) before Subscribe returned.
template <typename State>
void KeepSubscription(JobManager& manager, const std::string& id, State& state, uint64_t token) {
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    if (state.done) {
      release = true;
    } else {
      state.token = token;
    }
  }
  if (release) manager.Unsubscribe(id, token);
}

class UploadReactor : public grpc::ServerReadReactor<v1::UploadProofRequest> {
 public:
  UploadReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
                v1::SubmitProofResponse* response)
      : shared_(std::move(shared)), response_(response) {
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      Finish(shared_->Done("UploadProof", tenant.status()));
      return;
    }
    tenant_ = *std::move(tenant);
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client finished sending.
      if (!have_request_) {
        Finish(shared_->Done(
            "UploadProof",
            absl::InvalidArgumentError("request: the first message must carry the request")));
        return;
      }
      shared_->manager->Submit(tenant_, std::move(request_), std::move(trace_),
                               [this](absl::StatusOr<v1::Job> job, bool deduplicated) {
                                 if (job.ok()) {
                                   *response_->mutable_job() = *std::move(job);
                                   response_->set_deduplicated(deduplicated);
                                 }
                                 Finish(shared_->Done("UploadProof", job.status()));
                               });
      return;
    }
    shared_->metrics->BytesReceived(message_.ByteSizeLong());
    if (!have_request_) {
      if (!message_.has_request()) {
        Finish(shared_->Done(
            "UploadProof",
            absl::InvalidArgumentError("request: the first message must carry the request")));
        return;
      }
      request_ = std::move(*message_.mutable_request());
      have_request_ = true;
      if (!request_.has_user()) {
        Finish(shared_->Done("UploadProof", absl::InvalidArgumentError(
                                                "request.user: uploads carry a user statement")));
        return;
      }
      if (!request_.user().trace().empty()) {
        Finish(shared_->Done("UploadProof", absl::InvalidArgumentError(
                                                "request.user.trace: must be empty in an upload; "
                                                "send the trace in trace_chunk messages")));
        return;
      }
    } else {
      if (!message_.has_trace_chunk()) {
        Finish(shared_->Done(
            "UploadProof",
            absl::InvalidArgumentError("trace_chunk: only the first message carries the request")));
        return;
      }
      if (trace_.size() + message_.trace_chunk().size() > shared_->options.max_upload_bytes) {
        Finish(shared_->Done("UploadProof", absl::ResourceExhaustedError(absl::StrCat(
                                                "trace_chunk: the upload exceeds the limit of ",
                                                shared_->options.max_upload_bytes, " bytes"))));
        return;
      }
      trace_ += message_.trace_chunk();
    }
    message_.Clear();
    StartRead(&message_);
  }

  void OnDone() override { delete this; }

 private:
  std::shared_ptr<ProverService::Shared> shared_;
  v1::SubmitProofResponse* response_;
  std::string tenant_;
  v1::UploadProofRequest message_;
  v1::SubmitProofRequest request_;
  bool have_request_ = false;
  std::string trace_;
};

// WaitJob: answers with the final state, or the current one when the timeout passes.
class WaitReactor : public grpc::ServerUnaryReactor {
 public:
  struct State {
    std::mutex mu;
    bool finished = false;
    bool done = false;  // OnDone ran
    uint64_t token = 0;
    uint64_t timer = 0;
    WaitReactor* reactor = nullptr;
    v1::Job* response = nullptr;
  };

  WaitReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
              const v1::WaitJobRequest* request, v1::Job* response)
      : shared_(std::move(shared)), state_(std::make_shared<State>()), id_(request->job_id()) {
    state_->reactor = this;
    state_->response = response;
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      Complete(state_, std::nullopt, tenant.status());
      return;
    }
    if (auto s = RequireJobId(id_); !s.ok()) {
      Complete(state_, std::nullopt, s);
      return;
    }
    tenant_ = *tenant;
    const uint32_t max_wait = shared_->options.max_wait_ms;
    const uint32_t wait =
        request->timeout_ms() == 0 ? max_wait : std::min(request->timeout_ms(), max_wait);
    std::weak_ptr<State> weak = state_;
    auto shared_copy = shared_;
    const std::string tenant_copy = tenant_, id = id_;
    const uint64_t timer = shared_->timers.Schedule(
        TimerQueue::Clock::now() + std::chrono::milliseconds(wait),
        [weak, shared_copy, tenant_copy, id] {
          auto st = weak.lock();
          if (!st) return;
          auto job = shared_copy->manager->Get(tenant_copy, id);
          Complete(st, job.ok() ? std::optional<v1::Job>(*job) : std::nullopt, job.status());
        });
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->timer = timer;
    }
    auto token = shared_->manager->Subscribe(tenant_, id_, [weak](uint64_t, const v1::Job& job) {
      if (!IsFinal(job)) return;
      if (auto st = weak.lock()) Complete(st, job, absl::OkStatus());
    });
    if (!token.ok()) {
      Complete(state_, std::nullopt, token.status());
      return;
    }
    KeepSubscription(*shared_->manager, id_, *state_, *token);
  }

  static void Complete(const std::shared_ptr<State>& st, std::optional<v1::Job> job,
                       const absl::Status& status) {
    WaitReactor* r;
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->finished) return;
      st->finished = true;
      if (job) *st->response = *job;
      r = st->reactor;
    }
    r->Finish(r->shared_->Done("WaitJob", status));
  }

  void OnCancel() override {
    Complete(state_, std::nullopt, absl::CancelledError("call cancelled"));
  }

  void OnDone() override {
    uint64_t token, timer;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->done = true;
      token = state_->token;
      timer = state_->timer;
    }
    if (token != 0) shared_->manager->Unsubscribe(id_, token);
    if (timer != 0) shared_->timers.Cancel(timer);
    delete this;
  }

 private:
  std::shared_ptr<ProverService::Shared> shared_;
  std::shared_ptr<State> state_;
  std::string id_, tenant_;
};

// WatchJob: every change, the final state last.
class WatchReactor : public grpc::ServerWriteReactor<v1::Job> {
 public:
  struct State {
    std::mutex mu;
    bool finishing = false;  // Finish called or to be called when the write in flight ends
    bool cancelled = false;
    bool writing = false;
    bool final_in_flight = false;
    bool done = false;
    uint64_t last_version = 0;
    uint64_t token = 0;
    std::optional<v1::Job> pending;
    v1::Job buffer;
    WatchReactor* reactor = nullptr;
  };

  WatchReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
               const v1::WatchJobRequest* request)
      : shared_(std::move(shared)), state_(std::make_shared<State>()), id_(request->job_id()) {
    state_->reactor = this;
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      FinishNow(tenant.status());
      return;
    }
    if (auto s = RequireJobId(id_); !s.ok()) {
      FinishNow(s);
      return;
    }
    std::weak_ptr<State> weak = state_;
    auto token =
        shared_->manager->Subscribe(*tenant, id_, [weak](uint64_t version, const v1::Job& job) {
          if (auto st = weak.lock()) Update(st, version, job);
        });
    if (!token.ok()) {
      FinishNow(token.status());
      return;
    }
    KeepSubscription(*shared_->manager, id_, *state_, *token);
  }

  void FinishNow(const absl::Status& s) {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->finishing = true;
    }
    Finish(shared_->Done("WatchJob", s));
  }

  static void Update(const std::shared_ptr<State>& st, uint64_t version, const v1::Job& job) {
    WatchReactor* r;
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->finishing || version <= st->last_version) return;
      st->last_version = version;
      if (st->writing) {
        st->pending = job;
        return;
      }
      st->writing = true;
      st->buffer = job;
      st->final_in_flight = IsFinal(job);
      r = st->reactor;
    }
    r->StartWrite(&st->buffer);
  }

  void OnWriteDone(bool ok) override {
    absl::Status finish = absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!ok || state_->cancelled) {
        finish = absl::CancelledError("the client went away");
      } else if (!state_->final_in_flight && state_->pending) {
        state_->buffer = *std::move(state_->pending);
        state_->pending.reset();
        state_->final_in_flight = IsFinal(state_->buffer);
        StartWrite(&state_->buffer);
        return;
      } else if (!state_->final_in_flight) {
        state_->writing = false;
        return;
      }
      state_->finishing = true;
      state_->writing = false;
    }
    Finish(shared_->Done("WatchJob", finish));
  }

  void OnCancel() override {
    bool finish_now = false;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->cancelled = true;
      if (!state_->finishing && !state_->writing) {
        state_->finishing = true;
        finish_now = true;
      }
    }
    if (finish_now) Finish(shared_->Done("WatchJob", absl::CancelledError("call cancelled")));
  }

  void OnDone() override {
    uint64_t token;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->done = true;
      state_->finishing = true;
      token = state_->token;
    }
    if (token != 0) shared_->manager->Unsubscribe(id_, token);
    delete this;
  }

 private:
  std::shared_ptr<ProverService::Shared> shared_;
  std::shared_ptr<State> state_;
  std::string id_;
};

class ProofReactor : public grpc::ServerWriteReactor<v1::ProofChunk> {
 public:
  ProofReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
               const v1::GetProofRequest* request)
      : shared_(std::move(shared)) {
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      Finish(shared_->Done("GetProof", tenant.status()));
      return;
    }
    if (auto s = RequireJobId(request->job_id()); !s.ok()) {
      Finish(shared_->Done("GetProof", s));
      return;
    }
    if (request->chunk_bytes() > (4u << 20)) {
      Finish(shared_->Done("GetProof", absl::InvalidArgumentError("chunk_bytes: at most 4 MiB")));
      return;
    }
    chunk_ = request->chunk_bytes() == 0 ? (1u << 20) : request->chunk_bytes();
    v1::Job job;
    auto proof = shared_->manager->ReadProof(*tenant, request->job_id(), &job);
    if (!proof.ok()) {
      Finish(shared_->Done("GetProof", proof.status()));
      return;
    }
    proof_ = *std::move(proof);
    sha256_ = job.proof_sha256();
    Next();
  }

  void Next() {
    const size_t n = std::min<size_t>(chunk_, proof_.size() - offset_);
    out_.Clear();
    out_.set_data(proof_.substr(offset_, n));
    out_.set_offset(offset_);
    out_.set_total_bytes(proof_.size());
    offset_ += n;
    if (offset_ == proof_.size()) out_.set_sha256(sha256_);
    shared_->metrics->BytesSent(n);
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(shared_->Done("GetProof", absl::CancelledError("the client went away")));
    } else if (offset_ < proof_.size()) {
      Next();
    } else {
      Finish(shared_->Done("GetProof", absl::OkStatus()));
    }
  }

  void OnDone() override { delete this; }

 private:
  std::shared_ptr<ProverService::Shared> shared_;
  std::string proof_, sha256_;
  size_t offset_ = 0;
  uint32_t chunk_ = 0;
  v1::ProofChunk out_;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadProofRequest>* ProverService::UploadProof(
    grpc::CallbackServerContext* ctx, v1::SubmitProofResponse* response) {
  return new UploadReactor(shared_, ctx, response);
}

grpc::ServerUnaryReactor* ProverService::GetJob(grpc::CallbackServerContext* ctx,
                                                const v1::GetJobRequest* request,
                                                v1::Job* response) {
  auto* reactor = ctx->DefaultReactor();
  absl::Status status = RequireJobId(request->job_id());
  auto tenant = shared_->Admit(ctx);
  if (!tenant.ok()) status = tenant.status();
  if (status.ok()) {
    auto job = shared_->manager->Get(*tenant, request->job_id());
    if (job.ok()) *response = *std::move(job);
    status = job.status();
  }
  reactor->Finish(shared_->Done("GetJob", status));
  return reactor;
}

grpc::ServerUnaryReactor* ProverService::WaitJob(grpc::CallbackServerContext* ctx,
                                                 const v1::WaitJobRequest* request,
                                                 v1::Job* response) {
  return new WaitReactor(shared_, ctx, request, response);
}

grpc::ServerWriteReactor<v1::Job>* ProverService::WatchJob(grpc::CallbackServerContext* ctx,
                                                           const v1::WatchJobRequest* request) {
  return new WatchReactor(shared_, ctx, request);
}

grpc::ServerUnaryReactor* ProverService::CancelJob(grpc::CallbackServerContext* ctx,
                                                   const v1::CancelJobRequest* request,
                                                   v1::Job* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  absl::Status status = tenant.ok() ? RequireJobId(request->job_id()) : tenant.status();
  if (status.ok()) {
    auto job = shared_->manager->Cancel(*tenant, request->job_id());
    if (job.ok()) *response = *std::move(job);
    status = job.status();
  }
  reactor->Finish(shared_->Done("CancelJob", status));
  return reactor;
}

grpc::ServerUnaryReactor* ProverService::ListJobs(grpc::CallbackServerContext* ctx,
                                                  const v1::ListJobsRequest* request,
                                                  v1::ListJobsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  absl::Status status = tenant.status();
  if (status.ok()) {
    auto list = shared_->manager->List(*tenant, *request);
    if (list.ok()) *response = *std::move(list);
    status = list.status();
  }
  reactor->Finish(shared_->Done("ListJobs", status));
  return reactor;
}

grpc::ServerWriteReactor<v1::ProofChunk>* ProverService::GetProof(
    grpc::CallbackServerContext* ctx, const v1::GetProofRequest* request) {
  return new ProofReactor(shared_, ctx, request);
}

namespace {

absl::StatusOr<v1::VerifyProofResponse> DoVerify(const v1::VerifyProofRequest& req,
                                                 const RequestLimits& limits) {
  air::Air air;
  std::vector<Fp> publics;
  if (req.has_builtin()) {
    v1::SubmitProofRequest as_submit;
    *as_submit.mutable_builtin() = req.builtin();
    auto prepared = PrepareJob(as_submit, "", limits);
    if (!prepared.ok()) return prepared.status();
    air = std::move(prepared->air);
    if (req.public_inputs_size() > 0) {
      for (int i = 0; i < req.public_inputs_size(); ++i) {
        if (req.public_inputs(i) >= Fp::kModulus) {
          return absl::InvalidArgumentError(
              absl::StrCat("public_inputs[", i, "]: not a canonical field element"));
        }
        publics.push_back(Fp::FromCanonical(req.public_inputs(i)));
      }
    } else {
      auto instance = LoadStatement(as_submit, "");
      if (!instance.ok()) return instance.status();
      publics = instance->public_inputs;
    }
  } else if (req.has_user()) {
    auto a = air::AirFromProto(req.user().air());
    if (!a.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("user.air.", a.status().message()));
    }
    air = *std::move(a);
    for (int i = 0; i < req.user().public_inputs_size(); ++i) {
      const uint64_t v = req.user().public_inputs(i);
      if (v >= Fp::kModulus) {
        return absl::InvalidArgumentError(
            absl::StrCat("user.public_inputs[", i, "]: not a canonical field element"));
      }
      publics.push_back(Fp::FromCanonical(v));
    }
  } else {
    return absl::InvalidArgumentError("statement: one of builtin or user is required");
  }
  const uint32_t floor =
      req.min_security_bits() != 0 ? req.min_security_bits() : limits.min_security_bits;
  v1::VerifyProofResponse out;
  const auto& p = req.proof();
  stark::VerifyOptions vo;
  vo.min_security_bits = floor;
  const absl::Status s = stark::VerifyEncoded(
      air, publics, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()),
      vo);
  out.set_accepted(s.ok());
  if (!s.ok()) out.set_reason(std::string(s.message()));
  auto decoded = stark::DecodeProof(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
  if (decoded.ok()) out.set_security_bits(decoded->security_bits);
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* ProverService::VerifyProof(grpc::CallbackServerContext* ctx,
                                                     const v1::VerifyProofRequest* request,
                                                     v1::VerifyProofResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  if (!tenant.ok()) {
    reactor->Finish(shared_->Done("VerifyProof", tenant.status()));
    return reactor;
  }
  shared_->metrics->BytesReceived(request->ByteSizeLong());
  // Verification (and regenerating a builtin's public inputs) is real work: off the
  // callback threads.
  std::thread([shared = shared_, reactor, request, response] {
    auto out = DoVerify(*request, shared->manager->options().request_limits);
    if (out.ok()) *response = *std::move(out);
    reactor->Finish(shared->Done("VerifyProof", out.status()));
  }).detach();
  return reactor;
}

grpc::ServerUnaryReactor* ProverService::GetServerInfo(grpc::CallbackServerContext* ctx,
                                                       const v1::GetServerInfoRequest*,
                                                       v1::ServerInfo* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  if (tenant.ok()) {
    response->set_version(PROVER_VERSION);
    for (const EngineInfo& e : shared_->manager->engines()) {
      v1::EngineInfo* out = response->add_engines();
      out->set_name(e.name);
      out->set_kind(e.kind);
      out->set_device(e.device);
      out->set_memory_budget_bytes(e.memory_budget_bytes);
      out->set_max_concurrent_jobs(e.max_concurrent_jobs);
    }
    for (const std::string& u : shared_->options.unavailable_engines) {
      response->add_unavailable_engines(u);
    }
    const ManagerOptions& mo = shared_->manager->options();
    v1::ServerLimits* l = response->mutable_limits();
    l->set_max_message_bytes(shared_->options.max_message_bytes);
    l->set_max_upload_bytes(shared_->options.max_upload_bytes);
    l->set_max_queued_per_tenant(mo.max_queued_per_tenant);
    l->set_max_running_per_tenant(mo.max_running_per_tenant);
    l->set_rate_limit_per_second(shared_->options.rate_limit_per_second);
    l->set_min_security_bits(mo.request_limits.min_security_bits);
    l->set_max_log_rows(uint32_t(mo.request_limits.max_log_rows));
    response->set_tenant(*tenant);
  }
  reactor->Finish(shared_->Done("GetServerInfo", tenant.status()));
  return reactor;
}

}  // namespace prover::server
