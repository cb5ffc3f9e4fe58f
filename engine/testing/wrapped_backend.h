// Test doubles around the CPU engine: a job that forwards every call to a real one (a test
// overrides only the calls it changes: one that fails, one that waits), and a backend whose
// jobs are wrapped so.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "engine/backend/backend.h"
#include "engine/backend/cpu/cpu_backend.h"

namespace prover::testing {

class ForwardingJob : public backend::ProvingJob {
 public:
  explicit ForwardingJob(std::unique_ptr<backend::ProvingJob> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<Digest> CommitMain(const air::Trace& trace) override {
    return inner_->CommitMain(trace);
  }
  absl::StatusOr<backend::AuxCommitment> CommitAux(const Fp3& alpha, const Fp3& beta) override {
    return inner_->CommitAux(alpha, beta);
  }
  absl::StatusOr<Digest> CommitQuotient(const Fp3& gamma) override {
    return inner_->CommitQuotient(gamma);
  }
  absl::StatusOr<std::vector<backend::TableOod>> EvaluateOod(const Fp3& z) override {
    return inner_->EvaluateOod(z);
  }
  absl::Status BuildDeep(const Fp3& delta, const Fp3& lambda,
                         std::span<const backend::TableOod> ood,
                         const stark::FriSchedule& schedule) override {
    return inner_->BuildDeep(delta, lambda, ood, schedule);
  }
  absl::StatusOr<Digest> CommitFriLayer(int layer) override {
    return inner_->CommitFriLayer(layer);
  }
  absl::Status FoldFriLayer(int layer, const Fp3& zeta) override {
    return inner_->FoldFriLayer(layer, zeta);
  }
  absl::StatusOr<std::vector<Fp3>> FinalLayer() override { return inner_->FinalLayer(); }
  absl::StatusOr<backend::QueryOpenings> OpenQueries(std::span<const uint64_t> p) override {
    return inner_->OpenQueries(p);
  }
  backend::JobMemory memory() const override { return inner_->memory(); }

 private:
  std::unique_ptr<backend::ProvingJob> inner_;
};

// The CPU backend under another name, each of its jobs passed through `wrap`.
class WrappedCpuBackend final : public backend::Backend {
 public:
  using Wrap =
      std::function<std::unique_ptr<backend::ProvingJob>(std::unique_ptr<backend::ProvingJob>)>;
  WrappedCpuBackend(std::string name, Wrap wrap)
      : name_(std::move(name)), wrap_(std::move(wrap)), cpu_(backend::MakeCpuBackend()) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<std::unique_ptr<backend::ProvingJob>> StartJob(
      const backend::JobSpec& spec) override {
    auto job = cpu_->StartJob(spec);
    if (!job.ok()) return job.status();
    return wrap_(*std::move(job));
  }
  uint64_t EstimatePeakBytes(const backend::JobSpec& spec) const override {
    return cpu_->EstimatePeakBytes(spec);
  }

 private:
  std::string name_;
  Wrap wrap_;
  std::unique_ptr<backend::Backend> cpu_;
};

}  // namespace prover::testing
