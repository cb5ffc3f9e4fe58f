#include "engine/backend/cuda/fault_injection.h"

#include <utility>

namespace prover::backend::cuda {
namespace {

class FaultyDevice final : public Device {
 public:
  FaultyDevice(std::unique_ptr<Device> inner, uint64_t n, absl::Status failure,
               std::shared_ptr<FaultLog> log)
      : inner_(std::move(inner)), n_(n), failure_(std::move(failure)), log_(std::move(log)) {}

  std::string name() const override { return inner_->name(); }
  absl::StatusOr<uint64_t*> Alloc(uint64_t words) override {
    if (Fail()) return failure_;
    auto p = inner_->Alloc(words);
    if (p.ok()) ++log_->allocs;
    return p;
  }
  void Free(uint64_t* p) override {
    ++log_->frees;
    inner_->Free(p);
  }
  absl::Status Upload(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    return Fail() ? failure_ : inner_->Upload(dst, src, words);
  }
  absl::Status Download(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    return Fail() ? failure_ : inner_->Download(dst, src, words);
  }
  absl::Status Zero(uint64_t* dst, uint64_t words) override {
    return Fail() ? failure_ : inner_->Zero(dst, words);
  }
  absl::Status Sync() override { return Fail() ? failure_ : inner_->Sync(); }
  absl::StatusOr<const DeviceDomain*> Domain(int log_n, int log_blowup, Fp shift) override {
    if (Fail()) return failure_;
    return inner_->Domain(log_n, log_blowup, shift);
  }
  absl::StatusOr<void*> Stage(const void* host, uint64_t bytes) override {
    if (Fail()) return failure_;
    return inner_->Stage(host, bytes);
  }
  absl::Status Ntt(std::span<uint64_t* const> cols, int log_n, const DeviceDomain& domain,
                   bool inverse) override {
    return Fail() ? failure_ : inner_->Ntt(cols, log_n, domain, inverse);
  }
  absl::Status BitReverse(std::span<uint64_t* const> cols, int log_n, Fp scale) override {
    return Fail() ? failure_ : inner_->BitReverse(cols, log_n, scale);
  }
  absl::Status Spread(std::span<const uint64_t* const> src, std::span<uint64_t* const> dst,
                      std::span<const Fp> scale, int log_n, int log_len,
                      const Fp* shift_pows) override {
    return Fail() ? failure_ : inner_->Spread(src, dst, scale, log_n, log_len, shift_pows);
  }
  absl::Status MerkleTrees(std::span<const TreeJob> trees) override {
    return Fail() ? failure_ : inner_->MerkleTrees(trees);
  }
  absl::StatusOr<std::pair<int, uint64_t>> AuxColumns(std::span<const AuxTable> tables) override {
    if (Fail()) return failure_;
    return inner_->AuxColumns(tables);
  }
  absl::Status Quotients(std::span<const QuotientTable> tables) override {
    return Fail() ? failure_ : inner_->Quotients(tables);
  }
  absl::StatusOr<bool> AllZero(std::span<const uint64_t* const> cols, uint64_t begin,
                               uint64_t end) override {
    if (Fail()) return failure_;
    return inner_->AllZero(cols, begin, end);
  }
  absl::StatusOr<std::vector<Fp3>> EvalPolys(std::span<const PolyEval> polys) override {
    if (Fail()) return failure_;
    return inner_->EvalPolys(polys);
  }
  absl::Status Deep(std::span<const kernels::DeepTable> tables, Fp lde_shift) override {
    return Fail() ? failure_ : inner_->Deep(tables, lde_shift);
  }
  absl::Status FoldTwiddles(uint64_t* out, int log_m) override {
    return Fail() ? failure_ : inner_->FoldTwiddles(out, log_m);
  }
  absl::Status Fold(const FoldArgs& args) override {
    return Fail() ? failure_ : inner_->Fold(args);
  }
  absl::Status Gather(std::span<const uint64_t* const> addresses, uint64_t* host_out) override {
    return Fail() ? failure_ : inner_->Gather(addresses, host_out);
  }
  DeviceStats stats() const override { return inner_->stats(); }

 private:
  bool Fail() {
    const uint64_t call = ++log_->calls;
    if (call != n_) return false;
    log_->injected = true;
    return true;
  }

  std::unique_ptr<Device> inner_;
  const uint64_t n_;
  const absl::Status failure_;
  std::shared_ptr<FaultLog> log_;
};

}  // namespace

std::unique_ptr<Device> FailNthCall(std::unique_ptr<Device> inner, uint64_t n, absl::Status failure,
                                    std::shared_ptr<FaultLog> log) {
  return std::make_unique<FaultyDevice>(std::move(inner), n, std::move(failure), std::move(log));
}

}  // namespace prover::backend::cuda
