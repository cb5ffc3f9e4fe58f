#include "server/service.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/air/air_proto.h"
#include "engine/air/workloads/builtin.h"
#include "engine/base/build_info.h"
#include "engine/stark/verifier.h"
#include "server/log.h"
#include "server/request.h"
#include "server/sha256.h"
#include "server/work_pool.h"

namespace prover::server {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // A status message travels in a header: bounded, whatever a request echoed into it.
  return grpc::Status(static_cast<grpc::StatusCode>(int(s.code())),
                      Excerpt(std::string_view(s.message().data(), s.message().size()), 1024));
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

// The W3C trace id of the call's `traceparent` metadata (empty when absent or invalid).
std::string TraceIdOf(grpc::CallbackServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("traceparent");
  if (it == md.end()) return "";
  return prover::server::TraceIdOf(std::string_view(it->second.data(), it->second.size()));
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
  ByteBudget verify_memory;
  ByteBudget upload_memory;
  ByteBudget proof_streams;  // one unit per GetProof call in progress
  ByteBudget watches;        // one unit per WaitJob or WatchJob call in progress
  // Last: destroyed first, so their queued tasks finish while everything above lives.
  WorkPool stream_pool;  // proof downloads' reads, apart from submissions
  WorkPool verify_pool;
  WorkPool io_pool;

  Shared(JobManager* m, Metrics* x, ServiceOptions o)
      : manager(m),
        metrics(x),
        options(std::move(o)),
        limiter(options.rate_limit_per_second, options.rate_limit_burst),
        verify_memory(options.verify_memory_bytes, options.verify_memory_bytes / 2),
        upload_memory(options.upload_buffer_bytes, options.upload_buffer_bytes / 2),
        proof_streams(std::max<uint64_t>(64, 4ull * options.max_proof_streams_per_tenant),
                      options.max_proof_streams_per_tenant),
        watches(16ull * options.max_watches_per_tenant, options.max_watches_per_tenant),
        stream_pool(2, 256),
        verify_pool(options.verify_threads, options.verify_queue),
        io_pool(options.io_threads, options.io_queue) {}

  absl::Status Refuse(const char* resource, std::string message) {
    metrics->ResourceRefusal(resource);
    return absl::ResourceExhaustedError(std::move(message));
  }
  // A WaitJob or WatchJob slot of the tenant, or RESOURCE_EXHAUSTED.
  absl::StatusOr<ByteBudget::Lease> WatchSlot(const std::string& tenant) {
    auto slot = watches.TryReserve(tenant, 1);
    if (!slot) {
      return Refuse("watches",
                    absl::StrCat("tenant ", tenant, " has ", options.max_watches_per_tenant,
                                 " WaitJob and WatchJob calls open, the limit"));
    }
    return *std::move(slot);
  }
  // Memory for a submission's bytes while it is validated and stored: twice the request
  // (the trace moved out of it, then decoded), from the same buffer as uploads.
  absl::StatusOr<std::shared_ptr<ByteBudget::Lease>> SubmissionMemory(const std::string& tenant,
                                                                      uint64_t bytes) {
    auto lease = upload_memory.TryReserve(tenant, 2 * bytes);
    if (!lease) {
      return Refuse("upload_memory",
                    absl::StrCat("submissions and uploads in progress hold the server's buffer (",
                                 upload_memory.limit(),
                                 " bytes, a tenant at most half); retry "
                                 "shortly"));
    }
    return std::make_shared<ByteBudget::Lease>(*std::move(lease));
  }
  absl::Status Busy() {
    return Refuse("work_queue", "the server is busy (its work queue is full); retry shortly");
  }

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

void ProverService::Shutdown() {
  shared_->io_pool.Shutdown();
  shared_->verify_pool.Shutdown();
  shared_->stream_pool.Shutdown();
}

grpc::ServerUnaryReactor* ProverService::SubmitProof(grpc::CallbackServerContext* ctx,
                                                     const v1::SubmitProofRequest* request,
                                                     v1::SubmitProofResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  if (!tenant.ok()) {
    reactor->Finish(shared_->Done("SubmitProof", tenant.status()));
    return reactor;
  }
  const uint64_t bytes = request->ByteSizeLong();
  shared_->metrics->BytesReceived(bytes);
  // The request's memory is admitted before it waits for a worker; it is held until the job
  // manager is done with the trace.
  auto memory = shared_->SubmissionMemory(*tenant, bytes);
  if (!memory.ok()) {
    reactor->Finish(shared_->Done("SubmitProof", memory.status()));
    return reactor;
  }
  // Validation, hashing and the trace's fsync: on the I/O pool.
  const bool posted = shared_->io_pool.TryPost([shared = shared_, tenant = *tenant, reactor,
                                                request, response, memory = *memory,
                                                trace_id = TraceIdOf(ctx)] {
    // Sizes first, before anything is copied.
    if (auto s = CheckRequestSize(*request, shared->manager->options().request_limits); !s.ok()) {
      reactor->Finish(shared->Done("SubmitProof", s));
      return;
    }
    // The trace moves out of the request gRPC holds for us (not a const object: gRPC
    // allocated it and reads it no more); the rest, small now, is copied.
    auto* received = const_cast<v1::SubmitProofRequest*>(request);
    std::string trace;
    if (received->has_user()) trace.swap(*received->mutable_user()->mutable_trace());
    v1::SubmitProofRequest copy = *received;
    shared->manager->Submit(
        tenant, std::move(copy), std::move(trace),
        [shared, reactor, response, memory](absl::StatusOr<v1::Job> job, bool deduplicated) {
          memory->Release();
          if (job.ok()) {
            *response->mutable_job() = *std::move(job);
            response->set_deduplicated(deduplicated);
          }
          reactor->Finish(shared->Done("SubmitProof", job.status()));
        },
        trace_id);
  });
  if (!posted) reactor->Finish(shared_->Done("SubmitProof", shared_->Busy()));
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

// UploadProof: the trace arrives in chunks, admitted against the upload buffer budget as it
// grows (the whole server's and the tenant's half); a stream silent for the idle timeout is
// cancelled; a stream the client cancels is an abort, never a job.
class UploadReactor : public grpc::ServerReadReactor<v1::UploadProofRequest> {
 public:
  UploadReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
                v1::SubmitProofResponse* response)
      : shared_(std::move(shared)), ctx_(ctx), response_(response) {
    idle_->ctx = ctx;
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      FinishOnce(tenant.status());
      return;
    }
    tenant_ = *std::move(tenant);
    trace_id_ = TraceIdOf(ctx);
    auto lease = shared_->upload_memory.TryReserve(tenant_, 0);
    lease_ = std::make_shared<ByteBudget::Lease>(*std::move(lease));
    Read();
  }

  void OnReadDone(bool ok) override {
    CancelIdleTimer();
    if (!ok) {
      // The client finished sending, or the stream broke (a cancel, the idle timeout).
      bool idle_fired;
      {
        std::lock_guard<std::mutex> lock(idle_->mu);
        idle_fired = idle_->fired;
      }
      if (idle_fired) {
        return FinishOnce(absl::DeadlineExceededError(
            absl::StrCat("the upload sent nothing for ", shared_->options.upload_idle_timeout_ms,
                         " ms; it was aborted and no job was made")));
      }
      if (ctx_->IsCancelled() || cancelled_.load()) {
        return FinishOnce(absl::CancelledError("the upload was cancelled; no job was made"));
      }
      if (!have_request_) {
        return FinishOnce(
            absl::InvalidArgumentError("request: the first message must carry the request"));
      }
      // Validation, hashing and the fsync run on the I/O pool; the buffer lease is held
      // until the job manager is done with the trace.
      const bool posted = shared_->io_pool.TryPost([this] {
        auto lease = lease_;
        shared_->manager->Submit(
            tenant_, std::move(request_), std::move(trace_),
            [this, lease](absl::StatusOr<v1::Job> job, bool deduplicated) {
              if (job.ok()) {
                *response_->mutable_job() = *std::move(job);
                response_->set_deduplicated(deduplicated);
              }
              FinishOnce(job.status());
            },
            trace_id_);
      });
      if (!posted) FinishOnce(shared_->Busy());
      return;
    }
    shared_->metrics->BytesReceived(message_.ByteSizeLong());
    if (!have_request_) {
      if (!message_.has_request()) {
        return FinishOnce(
            absl::InvalidArgumentError("request: the first message must carry the request"));
      }
      request_ = std::move(*message_.mutable_request());
      have_request_ = true;
      if (auto s = CheckRequestSize(request_, shared_->manager->options().request_limits);
          !s.ok()) {
        return FinishOnce(s);
      }
      if (!request_.has_user()) {
        return FinishOnce(
            absl::InvalidArgumentError("request.user: uploads carry a user statement"));
      }
      if (!request_.user().trace().empty()) {
        return FinishOnce(absl::InvalidArgumentError(
            "request.user.trace: must be empty in an upload; send the trace in trace_chunk "
            "messages"));
      }
    } else {
      if (!message_.has_trace_chunk()) {
        return FinishOnce(
            absl::InvalidArgumentError("trace_chunk: only the first message carries the request"));
      }
      const uint64_t size = trace_.size() + message_.trace_chunk().size();
      if (size > shared_->options.max_upload_bytes) {
        return FinishOnce(absl::ResourceExhaustedError(
            absl::StrCat("trace_chunk: the upload exceeds the limit of ",
                         shared_->options.max_upload_bytes, " bytes")));
      }
      // Twice the bytes so far: validation decodes a copy once the upload is complete.
      if (!lease_->Resize(2 * size)) {
        if (2 * size > shared_->upload_memory.per_key_limit()) {
          return FinishOnce(shared_->Refuse(
              "upload_memory",
              absl::StrCat("trace_chunk: an upload of ", size,
                           " bytes or more needs twice that in the server's upload buffer, "
                           "more than a tenant may hold (",
                           shared_->upload_memory.per_key_limit(), " bytes)")));
        }
        return FinishOnce(shared_->Refuse(
            "upload_memory",
            absl::StrCat("trace_chunk: uploads in progress hold the server's upload buffer (",
                         shared_->upload_memory.limit(), " bytes, a tenant at most half); ",
                         "retry shortly")));
      }
      trace_ += message_.trace_chunk();
    }
    message_.Clear();
    Read();
  }

  void OnCancel() override { cancelled_.store(true); }

  void OnDone() override {
    CancelIdleTimer();
    {
      // A timer that is firing right now holds this lock while it uses the context.
      std::lock_guard<std::mutex> lock(idle_->mu);
      idle_->alive = false;
    }
    delete this;
  }

 private:
  // What the idle timer may touch: the context only while the reactor is alive.
  struct IdleState {
    std::mutex mu;
    bool alive = true;
    bool fired = false;
    grpc::CallbackServerContext* ctx = nullptr;
    uint64_t timer = 0;
  };

  void Read() {
    const uint32_t idle = shared_->options.upload_idle_timeout_ms;
    if (idle > 0) {
      std::lock_guard<std::mutex> lock(idle_->mu);
      std::weak_ptr<IdleState> weak = idle_;
      idle_->timer = shared_->timers.Schedule(
          TimerQueue::Clock::now() + std::chrono::milliseconds(idle), [weak] {
            auto st = weak.lock();
            if (!st) return;
            std::lock_guard<std::mutex> lock(st->mu);
            if (!st->alive) return;
            st->fired = true;
            st->ctx->TryCancel();
          });
    }
    StartRead(&message_);
  }
  void CancelIdleTimer() {
    uint64_t timer;
    {
      std::lock_guard<std::mutex> lock(idle_->mu);
      timer = idle_->timer;
      idle_->timer = 0;
    }
    if (timer != 0) shared_->timers.Cancel(timer);
  }
  void FinishOnce(const absl::Status& s) {
    if (finished_.exchange(true)) return;
    trace_.clear();
    trace_.shrink_to_fit();
    if (lease_) lease_->Release();
    Finish(shared_->Done("UploadProof", s));
  }

  std::shared_ptr<ProverService::Shared> shared_;
  grpc::CallbackServerContext* ctx_;
  v1::SubmitProofResponse* response_;
  std::string tenant_, trace_id_;
  v1::UploadProofRequest message_;
  v1::SubmitProofRequest request_;
  bool have_request_ = false;
  std::string trace_;
  std::shared_ptr<ByteBudget::Lease> lease_;
  std::atomic<bool> cancelled_{false}, finished_{false};
  std::shared_ptr<IdleState> idle_ = std::make_shared<IdleState>();
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
    auto slot = shared_->WatchSlot(*tenant);
    if (!slot.ok()) {
      Complete(state_, std::nullopt, slot.status());
      return;
    }
    slot_ = *std::move(slot);
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
  ByteBudget::Lease slot_;  // released with the reactor
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
    auto slot = shared_->WatchSlot(*tenant);
    if (!slot.ok()) {
      FinishNow(slot.status());
      return;
    }
    slot_ = *std::move(slot);
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
  ByteBudget::Lease slot_;  // released with the reactor
};

// GetProof: the proof streams from disk in chunks read on the I/O pool, hashed as they go;
// the last chunk (which carries the checksum) is sent only when the whole file hashes to
// the stored SHA-256, otherwise the call ends in DATA_LOSS. One chunk in memory per call,
// and a tenant has at most --max-proof-streams-per-tenant calls at once.
class ProofReactor : public grpc::ServerWriteReactor<v1::ProofChunk> {
 public:
  ProofReactor(std::shared_ptr<ProverService::Shared> shared, grpc::CallbackServerContext* ctx,
               const v1::GetProofRequest* request)
      : shared_(std::move(shared)), id_(request->job_id()) {
    auto tenant = shared_->Admit(ctx);
    if (!tenant.ok()) {
      End(tenant.status());
      return;
    }
    if (auto s = RequireJobId(id_); !s.ok()) {
      End(s);
      return;
    }
    if (request->chunk_bytes() > (4u << 20)) {
      End(absl::InvalidArgumentError("chunk_bytes: at most 4 MiB"));
      return;
    }
    chunk_ = request->chunk_bytes() == 0 ? (1u << 20) : request->chunk_bytes();
    auto slot = shared_->proof_streams.TryReserve(*tenant, 1);
    if (!slot) {
      End(shared_->Refuse(
          "proof_streams",
          absl::StrCat("tenant ", *tenant, " has ", shared_->options.max_proof_streams_per_tenant,
                       " proof downloads in progress, the limit")));
      return;
    }
    slot_ = *std::move(slot);
    tenant_ = *std::move(tenant);
    if (!shared_->stream_pool.TryPost([this] { Open(); })) End(shared_->Busy());
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(absl::CancelledError("the client went away"));
    if (offset_ == size_) return End(absl::OkStatus());
    shared_->stream_pool.Post([this] { Next(); });  // admitted already: never refused
  }

  void OnDone() override { delete this; }

 private:
  // On the I/O pool.
  void Open() {
    auto source = shared_->manager->OpenProof(tenant_, id_);
    if (!source.ok()) return End(source.status());
    source_ = *std::move(source);
    size_ = source_.reader->size();
    Next();
  }
  void Next() {
    auto data = source_.reader->ReadAt(offset_, chunk_);
    if (!data.ok()) return End(data.status());
    hash_.Update(*data);
    out_.Clear();
    out_.set_offset(offset_);
    out_.set_total_bytes(size_);
    offset_ += data->size();
    if (offset_ == size_) {
      const std::string actual = hash_.FinalHex();
      if (actual != source_.sha256) {
        shared_->manager->ReportCorruptProof(
            id_, absl::StrCat(source_.reader->path(), ": sha256 ", actual, ", expected ",
                              source_.sha256));
        return End(absl::DataLossError(
            absl::StrCat("job '", id_,
                         "': the stored proof is corrupted (checksum mismatch); it is not "
                         "served")));
      }
      out_.set_sha256(source_.sha256);
    }
    shared_->metrics->BytesSent(data->size());
    out_.set_data(*std::move(data));
    StartWrite(&out_);
  }
  void End(const absl::Status& s) {
    source_.reader.reset();
    slot_.Release();
    Finish(shared_->Done("GetProof", s));
  }

  std::shared_ptr<ProverService::Shared> shared_;
  std::string id_, tenant_;
  ByteBudget::Lease slot_;
  JobManager::ProofSource source_;
  Sha256 hash_;
  uint64_t offset_ = 0, size_ = 0;
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
  if (!status.ok()) {
    reactor->Finish(shared_->Done("CancelJob", status));
    return reactor;
  }
  // Answered once the cancel is durable (the store's commit), never blocking this thread.
  shared_->manager->Cancel(*tenant, request->job_id(),
                           [shared = shared_, reactor, response](absl::StatusOr<v1::Job> job) {
                             if (job.ok()) *response = *std::move(job);
                             reactor->Finish(shared->Done("CancelJob", job.status()));
                           });
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
    // The statement only: what a submission at the default parameters must also meet (the
    // floors, the proof-size bound) says nothing about the proof given here.
    RequestLimits statement_only = limits;
    statement_only.min_security_bits = 0;
    statement_only.min_proven_security_bits = 0;
    statement_only.max_proof_bytes = 0;
    auto prepared = PrepareJob(as_submit, "", statement_only);
    if (!prepared.ok()) return prepared.status();
    air = std::move(prepared->air);
    if (req.public_inputs_size() > 0) {
      auto p = FieldElements(req.public_inputs(), "public_inputs");
      if (!p.ok()) return p.status();
      publics = *std::move(p);
    } else if (const air::BuiltinWorkload* w = air::FindWorkload(req.builtin().workload());
               w != nullptr && w->public_inputs != nullptr) {
      // Constant memory (fibonacci: the recurrence, not the trace).
      auto p = w->public_inputs(WorkloadSize(req.builtin(), *w), req.builtin().seed());
      if (!p.ok()) return p.status();
      publics = *std::move(p);
    } else {
      // The generator runs: admitted (VerifyCost) against the verification budget.
      auto instance = LoadStatement(as_submit, "");
      if (!instance.ok()) return instance.status();
      publics = instance->public_inputs;
    }
  } else if (req.has_user()) {
    auto a = air::AirFromProto(req.user().air(), limits.air);
    if (!a.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("user.air.", a.status().message()));
    }
    air = *std::move(a);
    auto p = FieldElements(req.user().public_inputs(), "user.public_inputs");
    if (!p.ok()) return p.status();
    publics = *std::move(p);
  } else {
    return absl::InvalidArgumentError("statement: one of builtin or user is required");
  }
  v1::VerifyProofResponse out;
  const auto& p = req.proof();
  stark::VerifyOptions vo;
  // A call may raise the server's floors, never lower them.
  vo.min_security_bits = std::max(req.min_security_bits(), limits.min_security_bits);
  vo.min_proven_security_bits =
      std::max(req.min_proven_security_bits(), limits.min_proven_security_bits);
  const absl::Status s = stark::VerifyEncoded(
      air, publics, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()),
      vo);
  out.set_accepted(s.ok());
  if (!s.ok()) out.set_reason(std::string(s.message()));
  auto decoded = stark::DecodeProof(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
  if (decoded.ok()) {
    out.set_security_bits(decoded->security_bits);
    out.set_proven_security_bits(decoded->proven_security_bits);
  }
  return out;
}

// Memory a verification holds besides the request gRPC already holds: the decoded proof,
// the AIR as C++ values, and the workload's trace when a builtin's public inputs must be
// derived by its generator.
uint64_t VerifyCost(const v1::VerifyProofRequest& req, uint64_t* generator_bytes) {
  *generator_bytes = 0;
  uint64_t bytes = 4 * uint64_t(req.proof().size()) + (1u << 20);
  if (req.has_user()) bytes += 8 * req.user().air().ByteSizeLong();
  const air::BuiltinWorkload* w =
      req.has_builtin() ? air::FindWorkload(req.builtin().workload()) : nullptr;
  if (w != nullptr && w->public_inputs == nullptr && req.public_inputs_size() == 0) {
    auto rows = w->log_rows(WorkloadSize(req.builtin(), *w));
    if (rows.ok()) {
      const air::Air air = w->air();
      uint64_t trace = 0;
      for (size_t t = 0; t < rows->size(); ++t) {
        trace += 8ull * air.tables[t].num_columns << (*rows)[t];
      }
      // The trace and the generator's own tables (about as large again).
      *generator_bytes = 2 * trace;
      bytes += *generator_bytes;
    }
  }
  return bytes;
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
  // Verification (and deriving a builtin's public inputs) is real work: admitted against
  // the verification memory budget, then run on the bounded verification pool.
  if (request->has_user()) {
    const uint64_t air_bytes = request->user().air().ByteSizeLong();
    const uint64_t max = shared_->manager->options().request_limits.air.max_encoded_bytes;
    if (air_bytes > max) {
      reactor->Finish(shared_->Done(
          "VerifyProof", absl::InvalidArgumentError(absl::StrCat(
                             "user.air: ", air_bytes, " bytes encoded; at most ", max))));
      return reactor;
    }
  }
  uint64_t generator = 0;
  const uint64_t cost = VerifyCost(*request, &generator);
  const uint64_t share = shared_->verify_memory.per_key_limit();
  if (generator > 0 && cost > share) {
    reactor->Finish(shared_->Done(
        "VerifyProof",
        shared_->Refuse("verify_memory",
                        absl::StrCat("public_inputs: deriving them runs the zkvm generator at "
                                     "scale ",
                                     request->builtin().scale(), ", about ", cost,
                                     " bytes, more than a tenant's verification budget (", share,
                                     "); pass the public inputs with the proof"))));
    return reactor;
  }
  auto lease = shared_->verify_memory.TryReserve(*tenant, cost);
  if (!lease) {
    reactor->Finish(shared_->Done(
        "VerifyProof",
        shared_->Refuse("verify_memory",
                        absl::StrCat("verifications in progress hold the server's verification "
                                     "memory (",
                                     shared_->verify_memory.limit(),
                                     " bytes, a tenant at most half); retry shortly"))));
    return reactor;
  }
  auto held = std::make_shared<ByteBudget::Lease>(*std::move(lease));
  const bool posted = shared_->verify_pool.TryPost([shared = shared_, ctx, reactor, request,
                                                    response, held] {
    if (ctx->IsCancelled()) {
      // The client gave up while the call waited: no work for nobody.
      reactor->Finish(shared->Done("VerifyProof", absl::CancelledError("the client went away")));
      return;
    }
    auto out = DoVerify(*request, shared->manager->options().request_limits);
    held->Release();
    if (out.ok()) *response = *std::move(out);
    reactor->Finish(shared->Done("VerifyProof", out.status()));
  });
  if (!posted) {
    reactor->Finish(shared_->Done(
        "VerifyProof",
        shared_->Refuse("verify_queue", "the server's verification queue is full; retry shortly")));
  }
  return reactor;
}

grpc::ServerUnaryReactor* ProverService::GetServerInfo(grpc::CallbackServerContext* ctx,
                                                       const v1::GetServerInfoRequest*,
                                                       v1::ServerInfo* response) {
  auto* reactor = ctx->DefaultReactor();
  auto tenant = shared_->Admit(ctx);
  if (tenant.ok()) {
    response->set_version(BuildVersion());
    response->set_commit(BuildCommit());
    for (const Scheduler::EngineStats& st : shared_->manager->engines()) {
      const EngineInfo& e = st.info;
      v1::EngineInfo* out = response->add_engines();
      out->set_name(e.name);
      out->set_kind(std::string(EngineKindName(e.kind)));
      out->set_device(e.device);
      out->set_memory_budget_bytes(e.memory_budget_bytes);
      out->set_max_concurrent_jobs(e.max_concurrent_jobs);
      out->set_out_of_service(st.out_of_service);
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
    l->set_min_proven_security_bits(mo.request_limits.min_proven_security_bits);
    l->set_max_log_rows(uint32_t(mo.request_limits.max_log_rows));
    l->set_max_proof_bytes(mo.request_limits.max_proof_bytes);
    l->set_max_stored_bytes_per_tenant(mo.max_stored_bytes_per_tenant);
    l->set_max_jobs_per_tenant(mo.max_jobs_per_tenant);
    l->set_max_air_bytes(mo.request_limits.air.max_encoded_bytes);
    l->set_max_air_nodes(uint32_t(mo.request_limits.air.max_total_exprs));
    response->set_tenant(*tenant);
    response->set_node_id(shared_->manager->node_id());
    for (const JobStore::NodeRecord& n : shared_->manager->Nodes()) {
      v1::NodeInfo* out = response->add_nodes();
      out->set_id(n.id);
      out->set_address(n.address);
      for (absl::string_view name : absl::StrSplit(n.engines, ',', absl::SkipEmpty())) {
        out->add_engines(std::string(name));
      }
      out->set_version(n.version);
      out->set_memory_budget_bytes(n.memory_bytes);
      out->set_started_unix_ms(n.started_ms);
      out->set_heartbeat_unix_ms(n.heartbeat_ms);
      out->set_draining(n.draining);
    }
  }
  reactor->Finish(shared_->Done("GetServerInfo", tenant.status()));
  return reactor;
}

namespace {

// "/prover.v1.Prover/SubmitProof" -> "SubmitProof" (the label prover_requests_total uses).
std::string MethodLabel(std::string_view full) {
  const size_t slash = full.rfind('/');
  return Excerpt(slash == std::string_view::npos ? full : full.substr(slash + 1), 64);
}

class StatusInterceptor final : public grpc::experimental::Interceptor {
 public:
  StatusInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics)
      : method_(info->method() != nullptr ? info->method() : ""),
        metrics_(metrics),
        start_(std::chrono::steady_clock::now()) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (method_.rfind("/prover.v1.Prover/", 0) == 0) {
        metrics_->RequestDuration(
            MethodLabel(method_),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      }
      const grpc::Status s = methods->GetSendStatus();
      // Our handlers always explain an error; an empty UNIMPLEMENTED for a method we serve
      // is gRPC's answer to a request body it could not parse.
      if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED && s.error_message().empty() &&
          method_.rfind("/prover.v1.Prover/", 0) == 0) {
        metrics_->Request(MethodLabel(method_), "INVALID_ARGUMENT");
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "request: the body is not a protobuf encoding of the method's request message"));
      }
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  Metrics* metrics_;
  std::chrono::steady_clock::time_point start_;  // the call's start (its interceptor's)
};

class StatusInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit StatusInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new StatusInterceptor(info, metrics_);
  }

 private:
  Metrics* metrics_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeStatusInterceptors(Metrics* metrics) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<StatusInterceptorFactory>(metrics));
  return out;
}

grpc::ServerGenericBidiReactor* UnknownMethodService::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(const grpc::Status& s) { Finish(s); }
    void OnDone() override { delete this; }
  };
  metrics_->Request("unknown", "UNIMPLEMENTED");
  return new Reactor(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                  absl::StrCat("unknown method '", Excerpt(ctx->method(), 128),
                                               "' (see proto/prover/v1/prover.proto)")));
}

}  // namespace prover::server
