#include "engine/backend/cuda/cuda_device.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "engine/backend/cuda/device_job.h"
#include "engine/backend/cuda/domain_cache.h"
#include "engine/backend/cuda/launch_plan.h"
#include "engine/base/failure.h"
#include "kernels/launch.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover::backend::cuda {

FailureKind CudaErrorKind(int error) {
  switch (static_cast<cudaError_t>(error)) {
    case cudaErrorMemoryAllocation:
      return FailureKind::kResources;
    // Errors a kernel leaves in its context: every later call in this process fails with
    // them (CUDA Runtime API, "sticky" errors).
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
    case cudaErrorContextIsDestroyed:
    case cudaErrorDevicesUnavailable:
      return FailureKind::kDeviceLost;
    default:
      return FailureKind::kDeviceFault;
  }
}

namespace {

// A failed runtime call also leaves its error as this host thread's "last error", which
// every kernel launcher reads back with cudaGetLastError(): reported here, it is cleared,
// so that it fails only the call that caused it (on an H200, an allocation that failed
// while another process held the memory failed the next job's first launch on that thread
// as "out of memory"). Sticky errors (a kernel's illegal address) cannot be cleared.
absl::Status CudaStatus(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return absl::OkStatus();
  (void)cudaGetLastError();
  const std::string msg = absl::StrCat("cuda: ", file, ":", line, ": ", cudaGetErrorName(e), ": ",
                                       cudaGetErrorString(e), " (", call, ")");
  const FailureKind kind = CudaErrorKind(int(e));
  if (kind == FailureKind::kResources)
    return WithFailureKind(absl::ResourceExhaustedError(msg), kind);
  return WithFailureKind(absl::InternalError(msg), kind);
}

#define CUDA_RETURN_IF_ERROR(call)                                                            \
  do {                                                                                        \
    if (absl::Status s_ = CudaStatus((call), #call, __FILE__, __LINE__); !s_.ok()) return s_; \
  } while (0)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

// Sets the context's device on the calling thread for the scope (jobs move between
// scheduler threads; the current device is per thread).
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal) {
    cudaGetDevice(&previous_);
    if (previous_ != ordinal) cudaSetDevice(ordinal);
  }
  ~DeviceScope() { cudaSetDevice(previous_); }

 private:
  int previous_ = 0;
};

constexpr uint64_t kCopySlice = uint64_t{4} << 20;  // bytes per core in staging copies

struct Staging {
  void* host = nullptr;
  cudaEvent_t done = nullptr;  // the last copy out of this buffer
};

}  // namespace

class GpuContext {
 public:
  static absl::StatusOr<std::shared_ptr<GpuContext>> Open(int ordinal, const GpuOptions& options) {
    auto ctx = std::shared_ptr<GpuContext>(new GpuContext());
    ctx->ordinal_ = ordinal;
    CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
    cudaDeviceProp prop;
    CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, ordinal));
    ctx->info_ = {ordinal,    prop.name, prop.totalGlobalMem, prop.multiProcessorCount,
                  prop.major, prop.minor};
    ctx->grid_.sm_count = prop.multiProcessorCount;
    // The program kernels' grids and scratch: as many blocks as are resident at once.
    CUDA_RETURN_IF_ERROR(kernels::ProgramOccupancy(&ctx->grid_));
    size_t free_bytes = 0, total = 0;
    CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total));
    ctx->budget_ = options.memory_budget != 0 ? options.memory_budget : free_bytes / 10 * 9;
    CUDA_RETURN_IF_ERROR(cudaDeviceGetDefaultMemPool(&ctx->pool_, ordinal));
    uint64_t threshold = UINT64_MAX;  // keep freed memory for the next job
    CUDA_RETURN_IF_ERROR(
        cudaMemPoolSetAttribute(ctx->pool_, cudaMemPoolAttrReleaseThreshold, &threshold));
    for (int i = 0; i < std::max(1, options.streams); ++i) {
      cudaStream_t s;
      CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      ctx->free_streams_.push_back(s);
      ctx->all_streams_.push_back(s);
    }
    CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&ctx->cache_stream_, cudaStreamNonBlocking));
    // The domains count in the budget; idle ones are freed when it needs their bytes.
    GpuContext* c = ctx.get();
    ctx->domains_ = std::make_unique<DeviceDomainCache>(
        DeviceDomainCache::Hooks{[c](uint64_t bytes) { return c->Reserve(bytes); },
                                 [c](uint64_t bytes) { c->Unreserve(bytes); },
                                 [c](int log_n, int log_blowup, Fp shift) {
                                   return c->BuildDomain(log_n, log_blowup, shift);
                                 },
                                 [c](void* memory) {
                                   DeviceScope scope(c->ordinal_);
                                   (void)cudaFree(memory);
                                 }});
    ctx->staging_bytes_ = options.staging_bytes;
    for (int i = 0; i < 2; ++i) {
      Staging st;
      CUDA_RETURN_IF_ERROR(cudaMallocHost(&st.host, options.staging_bytes));
      CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&st.done, cudaEventDisableTiming));
      ctx->staging_.push_back(st);
      ctx->free_staging_.push_back(i);
    }
    return ctx;
  }

  ~GpuContext() {
    cudaSetDevice(ordinal_);
    domains_.reset();  // every job (and its leases) is gone
    for (Staging& s : staging_) {
      cudaFreeHost(s.host);
      cudaEventDestroy(s.done);
    }
    for (cudaStream_t s : all_streams_) cudaStreamDestroy(s);
    cudaStreamDestroy(cache_stream_);
  }

  int ordinal() const { return ordinal_; }
  const GpuInfo& info() const { return info_; }
  const kernels::GridLimits& grid() const { return grid_; }
  cudaMemPool_t pool() const { return pool_; }

  cudaStream_t TakeStream() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !free_streams_.empty(); });
    cudaStream_t s = free_streams_.back();
    free_streams_.pop_back();
    ++jobs_;
    return s;
  }
  void ReturnStream(cudaStream_t s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_streams_.push_back(s);
    }
    cv_.notify_all();
  }

  // Budget accounting for job allocations.
  bool Reserve(uint64_t bytes) {
    uint64_t used = used_.load();
    do {
      if (used + bytes > budget_) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes));
    uint64_t peak = peak_.load();
    while (used + bytes > peak && !peak_.compare_exchange_weak(peak, used + bytes)) {
    }
    return true;
  }
  void Unreserve(uint64_t bytes) { used_.fetch_sub(bytes); }

  // Uploads through the pinned staging buffers, chunk by chunk, on `stream`. The buffers
  // are taken in turn (first in, first out), so that while one chunk crosses PCIe the next
  // is copied into the other buffer; that copy runs on the cores in 4 MiB slices, since one
  // core copies pageable memory far slower than PCIe moves it (on an H200 host: 5.7 GB/s
  // against 55 GB/s).
  absl::Status Upload(cudaStream_t stream, uint64_t* dst, const uint64_t* src, uint64_t words) {
    const char* from = reinterpret_cast<const char*>(src);
    char* to = reinterpret_cast<char*>(dst);
    uint64_t left = 8 * words;
    while (left > 0) {
      const int b = TakeStaging();
      Staging& st = staging_[b];
      const uint64_t n = std::min<uint64_t>(left, staging_bytes_);
      absl::Status s =
          CudaStatus(cudaEventSynchronize(st.done), "cudaEventSynchronize", __FILE__, __LINE__);
      if (s.ok()) {
        tbb::parallel_for(tbb::blocked_range<uint64_t>(0, n, kCopySlice),
                          [&](const tbb::blocked_range<uint64_t>& r) {
                            std::memcpy(static_cast<char*>(st.host) + r.begin(), from + r.begin(),
                                        r.size());
                          });
        s = CudaStatus(cudaMemcpyAsync(to, st.host, n, cudaMemcpyHostToDevice, stream),
                       "cudaMemcpyAsync", __FILE__, __LINE__);
      }
      if (s.ok())
        s = CudaStatus(cudaEventRecord(st.done, stream), "cudaEventRecord", __FILE__, __LINE__);
      ReturnStaging(b);
      RETURN_IF_ERROR(s);
      from += n;
      to += n;
      left -= n;
    }
    bytes_to_device_ += 8 * words;
    return absl::OkStatus();
  }

  DeviceDomainCache& domains() { return *domains_; }

  // Allocates and fills one domain (DeviceDomainCache's build hook; its budget is reserved).
  absl::StatusOr<DeviceDomainCache::Storage> BuildDomain(int log_n, int log_blowup, Fp shift) {
    DeviceScope scope(ordinal_);
    const int log_N = log_n + log_blowup;
    const uint64_t half = log_N == 0 ? 1 : uint64_t{1} << (log_N - 1);
    const uint64_t n = uint64_t{1} << log_n;
    uint64_t* storage = nullptr;
    CUDA_RETURN_IF_ERROR(cudaMalloc(&storage, DeviceDomainCache::DomainBytes(log_n, log_blowup)));
    // Freed again when a later step fails: only a finished domain enters the cache.
    struct FreeUnlessKept {
      uint64_t* storage;
      bool keep = false;
      ~FreeUnlessKept() {
        if (!keep) (void)cudaFree(storage);
      }
    } guard{storage};
    const Fp w = Fp::RootOfUnity(log_N);
    uint64_t launches = 0;
    CUDA_RETURN_IF_ERROR(kernels::LaunchPowers(storage, w, half, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(
        kernels::LaunchPowers(storage + half, w.Inverse(), half, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(
        kernels::LaunchPowers(storage + 2 * half, shift, n, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(cache_stream_));
    launches_ += launches;
    guard.keep = true;
    DeviceDomainCache::Storage out;
    out.memory = storage;
    out.view = {log_n,
                log_N,
                shift,
                reinterpret_cast<const Fp*>(storage),
                reinterpret_cast<const Fp*>(storage + half),
                reinterpret_cast<const Fp*>(storage + 2 * half)};
    return out;
  }

  GpuStats Stats() const {
    GpuStats s;
    s.memory_budget = budget_;
    s.memory_in_use = used_.load();
    s.memory_peak = peak_.load();
    s.domain_cache_bytes = domains_->bytes();
    {
      std::lock_guard<std::mutex> lock(mu_);
      s.streams = int(all_streams_.size());
      s.streams_busy = int(all_streams_.size() - free_streams_.size());
      s.jobs = jobs_;
    }
    s.bytes_to_device = bytes_to_device_.load();
    s.bytes_to_host = bytes_to_host_.load();
    s.launches = launches_.load();
    return s;
  }

  std::atomic<uint64_t> bytes_to_device_{0}, bytes_to_host_{0}, launches_{0};

 private:
  GpuContext() = default;
  int TakeStaging() {
    std::unique_lock<std::mutex> lock(staging_mu_);
    staging_cv_.wait(lock, [&] { return !free_staging_.empty(); });
    const int b = free_staging_.front();
    free_staging_.pop_front();
    return b;
  }
  void ReturnStaging(int b) {
    {
      std::lock_guard<std::mutex> lock(staging_mu_);
      free_staging_.push_back(b);
    }
    staging_cv_.notify_one();
  }

  int ordinal_ = 0;
  GpuInfo info_;
  kernels::GridLimits grid_;
  cudaMemPool_t pool_ = nullptr;
  uint64_t budget_ = 0;
  std::atomic<uint64_t> used_{0}, peak_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<cudaStream_t> free_streams_, all_streams_;
  uint64_t jobs_ = 0;
  cudaStream_t cache_stream_ = nullptr;
  std::unique_ptr<DeviceDomainCache> domains_;
  uint64_t staging_bytes_ = 0;
  std::mutex staging_mu_;
  std::condition_variable staging_cv_;
  std::vector<Staging> staging_;
  std::deque<int> free_staging_;  // FIFO: one upload alternates between the buffers
};

namespace {

class CudaDevice final : public Device {
 public:
  explicit CudaDevice(std::shared_ptr<GpuContext> ctx) : ctx_(std::move(ctx)) {
    stream_ = ctx_->TakeStream();
    // An error another job (or an unchecked call) left on this thread is not this job's.
    (void)cudaGetLastError();
  }
  ~CudaDevice() override {
    DeviceScope scope(ctx_->ordinal());
    (void)Sync();
    for (auto& [p, bytes] : live_) {
      cudaFreeAsync(p, stream_);
      ctx_->Unreserve(bytes);
    }
    cudaStreamSynchronize(stream_);
    ctx_->ReturnStream(stream_);
  }
  std::string name() const override { return absl::StrCat("cuda:", ctx_->ordinal()); }

  absl::StatusOr<uint64_t*> Alloc(uint64_t words) override {
    const uint64_t bytes = 8 * std::max<uint64_t>(words, 1);
    // Idle cached domains give way to a job's memory.
    if (!ctx_->Reserve(bytes) && (ctx_->domains().Evict(bytes) == 0 || !ctx_->Reserve(bytes))) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cuda:", ctx_->ordinal(), ": the job needs more device memory than the budget allows (",
          bytes, " more bytes)"));
    }
    DeviceScope scope(ctx_->ordinal());
    void* p = nullptr;
    if (absl::Status s = CudaStatus(cudaMallocFromPoolAsync(&p, bytes, ctx_->pool(), stream_),
                                    "cudaMallocFromPoolAsync", __FILE__, __LINE__);
        !s.ok()) {
      ctx_->Unreserve(bytes);
      return s;
    }
    live_[static_cast<uint64_t*>(p)] = bytes;
    return static_cast<uint64_t*>(p);
  }
  void Free(uint64_t* p) override {
    auto it = live_.find(p);
    if (it == live_.end()) return;
    DeviceScope scope(ctx_->ordinal());
    cudaFreeAsync(p, stream_);
    ctx_->Unreserve(it->second);
    live_.erase(it);
  }
  absl::Status Upload(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    DeviceScope scope(ctx_->ordinal());
    return ctx_->Upload(stream_, dst, src, words);
  }
  absl::Status Download(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    DeviceScope scope(ctx_->ordinal());
    CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, 8 * words, cudaMemcpyDeviceToHost, stream_));
    CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    ctx_->bytes_to_host_ += 8 * words;
    return absl::OkStatus();
  }
  absl::Status Zero(uint64_t* dst, uint64_t words) override {
    DeviceScope scope(ctx_->ordinal());
    CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dst, 0, 8 * words, stream_));
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    DeviceScope scope(ctx_->ordinal());
    for (uint64_t* p : arena_) Free(p);
    arena_.clear();
    CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    return absl::OkStatus();
  }
  absl::StatusOr<const DeviceDomain*> Domain(int log_n, int log_blowup, Fp shift) override {
    // The job holds the domain while it lives (this device is the job's).
    absl::StatusOr<DeviceDomainCache::Lease> lease = ctx_->domains().Get(log_n, log_blowup, shift);
    if (!lease.ok()) return lease.status();
    domain_leases_.push_back(*std::move(lease));
    return domain_leases_.back().get();
  }
  absl::StatusOr<void*> Stage(const void* host, uint64_t bytes) override {
    auto p = Alloc((bytes + 7) / 8);
    if (!p.ok()) return p.status();
    arena_.push_back(*p);
    if (bytes != 0) {
      DeviceScope scope(ctx_->ordinal());
      CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(*p, host, bytes, cudaMemcpyHostToDevice, stream_));
      ctx_->bytes_to_device_ += bytes;
    }
    return static_cast<void*>(*p);
  }
  template <typename T>
  absl::StatusOr<T*> StageArray(std::span<const T> v) {
    auto p = Stage(v.data(), v.size_bytes());
    if (!p.ok()) return p.status();
    return static_cast<T*>(*p);
  }
  template <typename T>
  absl::StatusOr<T*> StageVector(const std::vector<T>& v) {
    return StageArray(std::span<const T>(v.data(), v.size()));
  }
  // Scratch freed at the next Sync.
  absl::StatusOr<uint64_t*> Scratch(uint64_t words) {
    auto p = Alloc(words);
    if (!p.ok()) return p.status();
    arena_.push_back(*p);
    return *p;
  }

#define ASSIGN_OR_RETURN_(var, expr)            \
  auto var##_or = (expr);                       \
  if (!var##_or.ok()) return var##_or.status(); \
  auto var = *var##_or

  absl::Status Ntt(std::span<uint64_t* const> cols, int log_n, const DeviceDomain& d,
                   bool inverse) override {
    if (cols.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    return Launched(kernels::LaunchNtt(dcols, uint32_t(cols.size()), log_n, inverse ? d.inv : d.fwd,
                                       d.log_N, stream_, &launches_),
                    "LaunchNtt");
  }
  absl::Status BitReverse(std::span<uint64_t* const> cols, int log_n, Fp scale) override {
    if (cols.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    return Launched(
        kernels::LaunchBitReverse(dcols, uint32_t(cols.size()), log_n, scale, stream_, &launches_),
        "LaunchBitReverse");
  }
  absl::Status Spread(std::span<const uint64_t* const> src, std::span<uint64_t* const> dst,
                      std::span<const Fp> scale, int log_n, int log_len,
                      const Fp* shift_pows) override {
    if (src.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dsrc, StageArray(src));
    ASSIGN_OR_RETURN_(ddst, StageArray(dst));
    ASSIGN_OR_RETURN_(dscale, StageArray(scale));
    return Launched(kernels::LaunchSpread(dsrc, ddst, dscale, uint32_t(src.size()), log_n, log_len,
                                          shift_pows, stream_, &launches_),
                    "LaunchSpread");
  }
  absl::Status MerkleTrees(std::span<const TreeJob> trees) override {
    if (trees.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    const uint32_t T = uint32_t(trees.size());
    const MerklePlan plan = PlanMerkle(trees);
    const std::vector<uint64_t>& leaf_prefix = plan.leaf_prefix;
    const std::vector<uint64_t>& level_prefix = plan.level_prefix;
    const std::vector<uint64_t>& totals = plan.totals;
    const int levels = plan.levels;
    ASSIGN_OR_RETURN_(dtrees, StageArray(trees));
    ASSIGN_OR_RETURN_(dleaf, StageVector(leaf_prefix));
    uint64_t* dlevel = nullptr;
    if (levels > 0) {
      ASSIGN_OR_RETURN_(p, StageVector(level_prefix));
      dlevel = p;
    }
    return Launched(kernels::LaunchMerkle(dtrees, T, dleaf, leaf_prefix[T], dlevel, totals.data(),
                                          levels, stream_, &launches_),
                    "LaunchMerkle");
  }

  absl::StatusOr<std::pair<int, uint64_t>> AuxColumns(std::span<const AuxTable> tables) override {
    if (tables.empty()) return std::make_pair(-1, uint64_t{0});
    DeviceScope scope(ctx_->ordinal());
    const uint32_t T = uint32_t(tables.size());
    const AuxPlan plan = PlanAux(tables);
    const std::vector<uint64_t>& prefix = plan.row_prefix;
    const uint32_t base_regs = plan.base_regs, ext_regs = plan.ext_regs;
    const std::vector<kernels::ScanChunk>& chunks = plan.chunks;
    const std::vector<kernels::ScanSegment>& segments = plan.segments;
    const uint64_t threads =
        kernels::ProgramThreads(ctx_->grid(), kernels::ProgramKernel::kAuxRows);
    ASSIGN_OR_RETURN_(scratch, Scratch(kernels::ProgramScratchWords(base_regs, ext_regs, threads)));
    ASSIGN_OR_RETURN_(bad, Scratch(1));
    CUDA_RETURN_IF_ERROR(cudaMemsetAsync(bad, 0xFF, 8, stream_));
    ASSIGN_OR_RETURN_(dtables, StageArray(tables));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    RETURN_IF_ERROR(
        Launched(kernels::LaunchAuxRows(dtables, T, dprefix, prefix[T], scratch, base_regs,
                                        ext_regs, reinterpret_cast<unsigned long long*>(bad),
                                        ctx_->grid(), stream_, &launches_),
                 "LaunchAuxRows"));
    ASSIGN_OR_RETURN_(dchunks, StageVector(chunks));
    ASSIGN_OR_RETURN_(dsegments, StageVector(segments));
    ASSIGN_OR_RETURN_(sums, Scratch(chunks.size()));
    RETURN_IF_ERROR(
        Launched(kernels::LaunchSegmentedScan(dchunks, uint32_t(chunks.size()), dsegments,
                                              uint32_t(segments.size()), sums, stream_, &launches_),
                 "LaunchSegmentedScan"));
    uint64_t flag = 0;
    RETURN_IF_ERROR(Download(&flag, bad, 1));
    if (flag == ~uint64_t{0}) return std::make_pair(-1, uint64_t{0});
    return std::make_pair(int(flag >> 40), flag & ((uint64_t{1} << 40) - 1));
  }

  absl::Status Quotients(std::span<const QuotientTable> tables) override {
    if (tables.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    const uint32_t T = uint32_t(tables.size());
    const QuotientPlan plan = PlanQuotients(tables);
    const std::vector<uint64_t>& prefix = plan.prefix;
    const uint32_t base_regs = plan.base_regs, ext_regs = plan.ext_regs;
    const uint64_t threads =
        kernels::ProgramThreads(ctx_->grid(), kernels::ProgramKernel::kQuotients);
    ASSIGN_OR_RETURN_(scratch, Scratch(kernels::ProgramScratchWords(base_regs, ext_regs, threads)));
    ASSIGN_OR_RETURN_(dtables, StageArray(tables));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    return Launched(kernels::LaunchQuotients(dtables, T, dprefix, prefix[T], scratch, base_regs,
                                             ext_regs, ctx_->grid(), stream_, &launches_),
                    "LaunchQuotients");
  }

  absl::StatusOr<bool> AllZero(std::span<const uint64_t* const> cols, uint64_t begin,
                               uint64_t end) override {
    DeviceScope scope(ctx_->ordinal());
    ASSIGN_OR_RETURN_(flag, Scratch(1));
    CUDA_RETURN_IF_ERROR(cudaMemsetAsync(flag, 0, 8, stream_));
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    RETURN_IF_ERROR(Launched(
        kernels::LaunchAllZero(dcols, uint32_t(cols.size()), begin, end,
                               reinterpret_cast<unsigned long long*>(flag), stream_, &launches_),
        "LaunchAllZero"));
    uint64_t v = 1;
    RETURN_IF_ERROR(Download(&v, flag, 1));
    return v == 0;
  }

  absl::StatusOr<std::vector<Fp3>> EvalPolys(std::span<const PolyEval> polys) override {
    if (polys.empty()) return std::vector<Fp3>{};
    DeviceScope scope(ctx_->ordinal());
    const uint32_t P = uint32_t(polys.size());
    std::vector<uint64_t> prefix(P + 1, 0);
    for (uint32_t k = 0; k < P; ++k)
      prefix[k + 1] = prefix[k] + (polys[k].len + kernels::kEvalChunk - 1) / kernels::kEvalChunk;
    ASSIGN_OR_RETURN_(partials, Scratch(3 * prefix[P]));
    ASSIGN_OR_RETURN_(out, Scratch(3 * uint64_t{P}));
    ASSIGN_OR_RETURN_(dpolys, StageArray(polys));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    RETURN_IF_ERROR(Launched(
        kernels::LaunchEvalPolys(dpolys, P, dprefix, prefix[P], partials, out, stream_, &launches_),
        "LaunchEvalPolys"));
    std::vector<uint64_t> raw(3 * uint64_t{P});
    RETURN_IF_ERROR(Download(raw.data(), out, raw.size()));
    std::vector<Fp3> v(P);
    for (uint32_t k = 0; k < P; ++k) {
      v[k] = Fp3(Fp::FromCanonical(raw[3 * k]), Fp::FromCanonical(raw[3 * k + 1]),
                 Fp::FromCanonical(raw[3 * k + 2]));
    }
    return v;
  }

  absl::Status Deep(std::span<const kernels::DeepTable> tables, Fp lde_shift) override {
    if (tables.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    const DeepPlan plan = PlanDeep(tables);
    ASSIGN_OR_RETURN_(dtables, StageVector(plan.tables));
    ASSIGN_OR_RETURN_(dtargets, StageVector(plan.targets));
    ASSIGN_OR_RETURN_(dprefix, StageVector(plan.group_prefix));
    return Launched(kernels::LaunchDeep(dtables, dtargets, uint32_t(plan.targets.size()), dprefix,
                                        plan.group_prefix.back(), lde_shift, stream_, &launches_),
                    "LaunchDeep");
  }

  absl::Status FoldTwiddles(uint64_t* out, int log_m) override {
    DeviceScope scope(ctx_->ordinal());
    return Launched(kernels::LaunchFoldTwiddles(out, log_m, stream_, &launches_),
                    "LaunchFoldTwiddles");
  }
  absl::Status Fold(const FoldArgs& args) override {
    DeviceScope scope(ctx_->ordinal());
    return Launched(kernels::LaunchFold(args, stream_, &launches_), "LaunchFold");
  }
  absl::Status Gather(std::span<const uint64_t* const> addresses, uint64_t* host_out) override {
    if (addresses.empty()) return absl::OkStatus();
    DeviceScope scope(ctx_->ordinal());
    ASSIGN_OR_RETURN_(daddr, StageArray(addresses));
    ASSIGN_OR_RETURN_(out, Scratch(addresses.size()));
    RETURN_IF_ERROR(Launched(
        kernels::LaunchGather(daddr, addresses.size(), out, stream_, &launches_), "LaunchGather"));
    return Download(host_out, out, addresses.size());
  }

  DeviceStats stats() const override {
    DeviceStats s;
    s.launches = launches_;
    return s;
  }

 private:
  absl::Status Launched(cudaError_t e, const char* what) {
    ctx_->launches_ += launches_ - counted_;
    counted_ = launches_;
    return CudaStatus(e, what, __FILE__, __LINE__);
  }

  std::shared_ptr<GpuContext> ctx_;
  cudaStream_t stream_ = nullptr;
  std::map<uint64_t*, uint64_t> live_;
  std::vector<uint64_t*> arena_;
  std::vector<DeviceDomainCache::Lease> domain_leases_;
  uint64_t launches_ = 0, counted_ = 0;
};

class CudaBackendImpl final : public CudaBackend {
 public:
  explicit CudaBackendImpl(std::shared_ptr<GpuContext> ctx)
      : ctx_(ctx),
        name_(absl::StrCat("cuda:", ctx->ordinal())),
        inner_(MakeDeviceBackend(
            name_,
            [ctx]() -> absl::StatusOr<std::unique_ptr<Device>> {
              return std::unique_ptr<Device>(new CudaDevice(ctx));
            },
            std::max(kernels::ProgramThreads(ctx->grid(), kernels::ProgramKernel::kAuxRows),
                     kernels::ProgramThreads(ctx->grid(), kernels::ProgramKernel::kQuotients)))) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<std::unique_ptr<ProvingJob>> StartJob(const JobSpec& spec) override {
    return inner_->StartJob(spec);
  }
  uint64_t EstimatePeakBytes(const JobSpec& spec) const override {
    return inner_->EstimatePeakBytes(spec);
  }
  const GpuInfo& gpu() const override { return ctx_->info(); }
  GpuStats stats() const override { return ctx_->Stats(); }

 private:
  std::shared_ptr<GpuContext> ctx_;
  std::string name_;
  std::unique_ptr<Backend> inner_;
};

}  // namespace

GpuDiscovery DiscoverGpus() {
  GpuDiscovery out;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    out.unavailable = absl::StrCat("cuda: no usable driver or GPU (", cudaGetErrorName(e), ": ",
                                   cudaGetErrorString(e), ")");
    return out;
  }
  if (count == 0) {
    out.unavailable = "cuda: no GPU is visible";
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    // The binary carries sm_90 code and compute_90 PTX: older GPUs cannot run it.
    if (prop.major < 9) {
      out.unavailable = absl::StrCat("cuda:", i, " (", prop.name, ", sm_", prop.major, prop.minor,
                                     ") is older than sm_90, which this build targets");
      continue;
    }
    out.gpus.push_back(
        {i, prop.name, prop.totalGlobalMem, prop.multiProcessorCount, prop.major, prop.minor});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<CudaBackend>> MakeCudaBackend(int ordinal,
                                                             const GpuOptions& options) {
  auto ctx = GpuContext::Open(ordinal, options);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<CudaBackend>(new CudaBackendImpl(*std::move(ctx)));
}

}  // namespace prover::backend::cuda
