#include "engine/backend/cuda/cuda_device.h"

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
#include "engine/backend/cuda/runtime.h"
#include "engine/base/failure.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace prover::backend::cuda {

bool IsStickyCudaError(RtError error) {
  switch (error) {
    case rt::kIllegalAddress:
    case rt::kLaunchFailure:
    case rt::kHardwareStackError:
    case rt::kIllegalInstruction:
    case rt::kMisalignedAddress:
    case rt::kInvalidAddressSpace:
    case rt::kInvalidPc:
    case rt::kAssert:
    case rt::kEccUncorrectable:
    case rt::kLaunchTimeout:
    case rt::kContextIsDestroyed:
      return true;
    default:
      return false;
  }
}

FailureKind CudaErrorKind(RtError error) {
  if (error == rt::kMemoryAllocation) return FailureKind::kResources;
  // A sticky error, or a GPU another process holds exclusively: this engine cannot use it.
  if (IsStickyCudaError(error) || error == rt::kDevicesUnavailable) {
    return FailureKind::kDeviceLost;
  }
  return FailureKind::kDeviceFault;
}

namespace {

// A failed runtime call also leaves its error as this host thread's "last error", which
// every kernel launcher reads back with cudaGetLastError(): reported here, it is cleared,
// so that it fails only the call that caused it (on an H200, an allocation that failed
// while another process held the memory failed the next job's first launch on that thread
// as "out of memory"). Sticky errors (a kernel's illegal address) cannot be cleared.
absl::Status CudaStatus(Runtime& rt, RtError e, const char* call, const char* file, int line) {
  if (e == rt::kSuccess) return absl::OkStatus();
  (void)rt.GetLastError();
  const std::string msg = absl::StrCat("cuda: ", file, ":", line, ": ", rt.ErrorName(e), ": ",
                                       rt.ErrorString(e), " (", call, ")");
  const FailureKind kind = CudaErrorKind(e);
  if (kind == FailureKind::kResources)
    return WithFailureKind(absl::ResourceExhaustedError(msg), kind);
  return WithFailureKind(absl::InternalError(msg), kind);
}

// A call whose failure nothing can act on (a release in a destructor or in Free): its error
// is cleared all the same, so that it cannot fail a later launch on this thread.
void Unchecked(Runtime& rt, RtError e) {
  if (e != rt::kSuccess) (void)rt.GetLastError();
}

// In a class with a Runtime& rt(): CUDA_RETURN_IF_ERROR(StreamCreate(&s)) calls
// rt().StreamCreate(&s) and names it "cudaStreamCreate(&s)" when it fails.
#define CUDA_RETURN_IF_ERROR(call)                                                                 \
  do {                                                                                             \
    if (absl::Status s_ = CudaStatus(rt(), rt().call, "cuda" #call, __FILE__, __LINE__); !s_.ok()) \
      return s_;                                                                                   \
  } while (0)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

// Sets the context's device on the calling thread for the scope (jobs move between
// scheduler threads; the current device is per thread), and the previous one back after.
// Every operation checks status() before its first call: a device that cannot be made
// current fails the operation, instead of its work going to another GPU.
class DeviceScope {
 public:
  DeviceScope(Runtime& rt, int ordinal) : rt_(rt) {
    const RtError e = rt_.GetDevice(&previous_);
    if (e != rt::kSuccess) {
      status_ = CudaStatus(rt_, e, "cudaGetDevice", __FILE__, __LINE__);
    } else if (previous_ != ordinal) {
      status_ = CudaStatus(rt_, rt_.SetDevice(ordinal), "cudaSetDevice", __FILE__, __LINE__);
      changed_ = status_.ok();
    }
  }
  ~DeviceScope() {
    if (changed_) Unchecked(rt_, rt_.SetDevice(previous_));
  }
  const absl::Status& status() const { return status_; }

 private:
  Runtime& rt_;
  int previous_ = 0;
  bool changed_ = false;
  absl::Status status_;
};

// Makes the context's device current for the rest of the enclosing operation.
#define ENTER_DEVICE(ordinal)          \
  DeviceScope scope_(rt(), (ordinal)); \
  RETURN_IF_ERROR(scope_.status())

constexpr uint64_t kCopySlice = uint64_t{4} << 20;  // bytes per core in staging copies

struct Staging {
  void* host = nullptr;
  RtEvent done = nullptr;  // the last copy out of this buffer
};

}  // namespace

class GpuContext {
 public:
  static absl::StatusOr<std::shared_ptr<GpuContext>> Open(std::shared_ptr<Runtime> runtime,
                                                          int ordinal, const GpuOptions& options) {
    auto ctx = std::shared_ptr<GpuContext>(new GpuContext(std::move(runtime), ordinal));
    RETURN_IF_ERROR(ctx->Init(options));
    return ctx;
  }

  // Whatever Init acquired before a failure is released here too.
  ~GpuContext() {
    DeviceScope scope(rt(), ordinal_);
    domains_.reset();  // every job (and its leases) is gone
    for (Staging& s : staging_) {
      if (s.host != nullptr) Unchecked(rt(), rt().FreeHost(s.host));
      if (s.done != nullptr) Unchecked(rt(), rt().EventDestroy(s.done));
    }
    for (RtStream s : all_streams_) Unchecked(rt(), rt().StreamDestroy(s));
    if (cache_stream_ != nullptr) Unchecked(rt(), rt().StreamDestroy(cache_stream_));
  }

  Runtime& rt() const { return *rt_; }
  int ordinal() const { return ordinal_; }
  const GpuInfo& info() const { return info_; }
  const kernels::GridLimits& grid() const { return grid_; }
  RtPool pool() const { return pool_; }

  RtStream TakeStream() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !free_streams_.empty(); });
    RtStream s = free_streams_.back();
    free_streams_.pop_back();
    ++jobs_;
    return s;
  }
  void ReturnStream(RtStream s) {
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
  absl::Status Upload(RtStream stream, uint64_t* dst, const uint64_t* src, uint64_t words) {
    const char* from = reinterpret_cast<const char*>(src);
    char* to = reinterpret_cast<char*>(dst);
    uint64_t left = 8 * words;
    while (left > 0) {
      const int b = TakeStaging();
      Staging& st = staging_[b];
      const uint64_t n = std::min<uint64_t>(left, staging_bytes_);
      absl::Status s = CudaStatus(rt(), rt().EventSynchronize(st.done), "cudaEventSynchronize",
                                  __FILE__, __LINE__);
      if (s.ok()) {
        tbb::parallel_for(tbb::blocked_range<uint64_t>(0, n, kCopySlice),
                          [&](const tbb::blocked_range<uint64_t>& r) {
                            std::memcpy(static_cast<char*>(st.host) + r.begin(), from + r.begin(),
                                        r.size());
                          });
        s = CudaStatus(rt(), rt().MemcpyAsync(to, st.host, n, RtCopy::kHostToDevice, stream),
                       "cudaMemcpyAsync", __FILE__, __LINE__);
      }
      if (s.ok())
        s = CudaStatus(rt(), rt().EventRecord(st.done, stream), "cudaEventRecord", __FILE__,
                       __LINE__);
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
    ENTER_DEVICE(ordinal_);
    const int log_N = log_n + log_blowup;
    const uint64_t half = log_N == 0 ? 1 : uint64_t{1} << (log_N - 1);
    const uint64_t n = uint64_t{1} << log_n;
    // From the jobs' pool: memory a job freed serves a domain and the reverse, so that what
    // the pool holds stays within the budget both count in.
    void* memory = nullptr;
    CUDA_RETURN_IF_ERROR(MallocFromPoolAsync(
        &memory, DeviceDomainCache::DomainBytes(log_n, log_blowup), pool_, cache_stream_));
    uint64_t* storage = static_cast<uint64_t*>(memory);
    // Freed again when a later step fails: only a finished domain enters the cache.
    struct FreeUnlessKept {
      GpuContext* ctx;
      void* memory;
      bool keep = false;
      ~FreeUnlessKept() {
        if (!keep) ctx->FreeDomain(memory);
      }
    } guard{this, memory};
    const Fp w = Fp::RootOfUnity(log_N);
    uint64_t launches = 0;
    CUDA_RETURN_IF_ERROR(LaunchPowers(storage, w, half, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(LaunchPowers(storage + half, w.Inverse(), half, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(LaunchPowers(storage + 2 * half, shift, n, cache_stream_, &launches));
    CUDA_RETURN_IF_ERROR(StreamSynchronize(cache_stream_));
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

  // A domain no job holds any more (every job that used it has synchronised its stream).
  void FreeDomain(void* memory) {
    DeviceScope scope(rt(), ordinal_);
    Unchecked(rt(), rt().FreeAsync(memory, cache_stream_));
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
  GpuContext(std::shared_ptr<Runtime> runtime, int ordinal)
      : rt_(std::move(runtime)), ordinal_(ordinal) {}

  absl::Status Init(const GpuOptions& options) {
    ENTER_DEVICE(ordinal_);
    CUDA_RETURN_IF_ERROR(GetDeviceProperties(&info_, ordinal_));
    grid_.sm_count = info_.sm_count;
    // The program kernels' grids and scratch: as many blocks as are resident at once.
    CUDA_RETURN_IF_ERROR(ProgramOccupancy(&grid_));
    size_t free_bytes = 0, total = 0;
    CUDA_RETURN_IF_ERROR(MemGetInfo(&free_bytes, &total));
    budget_ = options.memory_budget != 0 ? options.memory_budget : free_bytes / 10 * 9;
    CUDA_RETURN_IF_ERROR(DefaultPoolKeepingFreed(&pool_, ordinal_));
    for (int i = 0; i < std::max(1, options.streams); ++i) {
      RtStream s = nullptr;
      CUDA_RETURN_IF_ERROR(StreamCreate(&s));
      free_streams_.push_back(s);
      all_streams_.push_back(s);
    }
    CUDA_RETURN_IF_ERROR(StreamCreate(&cache_stream_));
    // The domains count in the budget; idle ones are freed when it needs their bytes.
    domains_ = std::make_unique<DeviceDomainCache>(
        DeviceDomainCache::Hooks{[this](uint64_t bytes) { return Reserve(bytes); },
                                 [this](uint64_t bytes) { Unreserve(bytes); },
                                 [this](int log_n, int log_blowup, Fp shift) {
                                   return BuildDomain(log_n, log_blowup, shift);
                                 },
                                 [this](void* memory) { FreeDomain(memory); }});
    staging_bytes_ = options.staging_bytes;
    for (int i = 0; i < 2; ++i) {
      Staging& st = staging_.emplace_back();
      CUDA_RETURN_IF_ERROR(MallocHost(&st.host, options.staging_bytes));
      CUDA_RETURN_IF_ERROR(EventCreate(&st.done));
      free_staging_.push_back(i);
    }
    return absl::OkStatus();
  }

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

  std::shared_ptr<Runtime> rt_;
  int ordinal_ = 0;
  GpuInfo info_;
  kernels::GridLimits grid_;
  RtPool pool_ = nullptr;
  uint64_t budget_ = 0;
  std::atomic<uint64_t> used_{0}, peak_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RtStream> free_streams_, all_streams_;
  uint64_t jobs_ = 0;
  RtStream cache_stream_ = nullptr;
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
    (void)rt().GetLastError();
  }
  // Returns every buffer and the stream, whatever failed before: a release that fails is
  // cleared and forgotten (the budget is the job's, not the pool's, to give back).
  ~CudaDevice() override {
    DeviceScope scope(rt(), ctx_->ordinal());
    (void)Sync();
    for (auto& [p, bytes] : live_) {
      Unchecked(rt(), rt().FreeAsync(p, stream_));
      ctx_->Unreserve(bytes);
    }
    Unchecked(rt(), rt().StreamSynchronize(stream_));
    ctx_->ReturnStream(stream_);
  }
  Runtime& rt() const { return ctx_->rt(); }
  std::string name() const override { return absl::StrCat("cuda:", ctx_->ordinal()); }

  absl::StatusOr<uint64_t*> Alloc(uint64_t words) override {
    const uint64_t bytes = 8 * std::max<uint64_t>(words, 1);
    ENTER_DEVICE(ctx_->ordinal());
    // Idle cached domains give way to a job's memory.
    if (!ctx_->Reserve(bytes) && (ctx_->domains().Evict(bytes) == 0 || !ctx_->Reserve(bytes))) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cuda:", ctx_->ordinal(), ": the job needs more device memory than the budget allows (",
          bytes, " more bytes)"));
    }
    void* p = nullptr;
    if (absl::Status s =
            CudaStatus(rt(), rt().MallocFromPoolAsync(&p, bytes, ctx_->pool(), stream_),
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
    // The stream names the device: no need to make it current.
    Unchecked(rt(), rt().FreeAsync(p, stream_));
    ctx_->Unreserve(it->second);
    live_.erase(it);
  }
  absl::Status Upload(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    ENTER_DEVICE(ctx_->ordinal());
    return ctx_->Upload(stream_, dst, src, words);
  }
  absl::Status Download(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    ENTER_DEVICE(ctx_->ordinal());
    CUDA_RETURN_IF_ERROR(MemcpyAsync(dst, src, 8 * words, RtCopy::kDeviceToHost, stream_));
    CUDA_RETURN_IF_ERROR(StreamSynchronize(stream_));
    ctx_->bytes_to_host_ += 8 * words;
    return absl::OkStatus();
  }
  absl::Status Zero(uint64_t* dst, uint64_t words) override {
    ENTER_DEVICE(ctx_->ordinal());
    CUDA_RETURN_IF_ERROR(MemsetAsync(dst, 0, 8 * words, stream_));
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    ENTER_DEVICE(ctx_->ordinal());
    for (uint64_t* p : arena_) Free(p);
    arena_.clear();
    CUDA_RETURN_IF_ERROR(StreamSynchronize(stream_));
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
      ENTER_DEVICE(ctx_->ordinal());
      CUDA_RETURN_IF_ERROR(MemcpyAsync(*p, host, bytes, RtCopy::kHostToDevice, stream_));
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
    ENTER_DEVICE(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    return Launched(rt().LaunchNtt(dcols, uint32_t(cols.size()), log_n, inverse ? d.inv : d.fwd,
                                   d.log_N, stream_, &launches_),
                    "LaunchNtt");
  }
  absl::Status BitReverse(std::span<uint64_t* const> cols, int log_n, Fp scale) override {
    if (cols.empty()) return absl::OkStatus();
    ENTER_DEVICE(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    return Launched(
        rt().LaunchBitReverse(dcols, uint32_t(cols.size()), log_n, scale, stream_, &launches_),
        "LaunchBitReverse");
  }
  absl::Status Spread(std::span<const uint64_t* const> src, std::span<uint64_t* const> dst,
                      std::span<const Fp> scale, int log_n, int log_len,
                      const Fp* shift_pows) override {
    if (src.empty()) return absl::OkStatus();
    ENTER_DEVICE(ctx_->ordinal());
    ASSIGN_OR_RETURN_(dsrc, StageArray(src));
    ASSIGN_OR_RETURN_(ddst, StageArray(dst));
    ASSIGN_OR_RETURN_(dscale, StageArray(scale));
    return Launched(rt().LaunchSpread(dsrc, ddst, dscale, uint32_t(src.size()), log_n, log_len,
                                      shift_pows, stream_, &launches_),
                    "LaunchSpread");
  }
  absl::Status MerkleTree(std::span<const TreeMatrix> matrices, uint64_t* nodes) override {
    ASSIGN_OR_RETURN_(plan, PlanMerkle(matrices, nodes));
    ENTER_DEVICE(ctx_->ordinal());
    const uint32_t M = uint32_t(plan.matrices.size());
    ASSIGN_OR_RETURN_(dmatrices, StageVector(plan.matrices));
    ASSIGN_OR_RETURN_(dprefix, StageVector(plan.row_prefix));
    return Launched(rt().LaunchMerkle(dmatrices, M, dprefix, plan.row_prefix[M], plan.levels.data(),
                                      plan.log_leaves, nodes, stream_, &launches_),
                    "LaunchMerkle");
  }

  absl::StatusOr<std::pair<int, uint64_t>> AuxColumns(std::span<const AuxTable> tables) override {
    if (tables.empty()) return std::make_pair(-1, uint64_t{0});
    ENTER_DEVICE(ctx_->ordinal());
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
    CUDA_RETURN_IF_ERROR(MemsetAsync(bad, 0xFF, 8, stream_));
    ASSIGN_OR_RETURN_(dtables, StageArray(tables));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    RETURN_IF_ERROR(
        Launched(rt().LaunchAuxRows(dtables, T, dprefix, prefix[T], scratch, base_regs, ext_regs,
                                    reinterpret_cast<unsigned long long*>(bad), ctx_->grid(),
                                    stream_, &launches_),
                 "LaunchAuxRows"));
    ASSIGN_OR_RETURN_(dchunks, StageVector(chunks));
    ASSIGN_OR_RETURN_(dsegments, StageVector(segments));
    ASSIGN_OR_RETURN_(sums, Scratch(chunks.size()));
    RETURN_IF_ERROR(
        Launched(rt().LaunchSegmentedScan(dchunks, uint32_t(chunks.size()), dsegments,
                                          uint32_t(segments.size()), sums, stream_, &launches_),
                 "LaunchSegmentedScan"));
    uint64_t flag = 0;
    RETURN_IF_ERROR(Download(&flag, bad, 1));
    if (flag == ~uint64_t{0}) return std::make_pair(-1, uint64_t{0});
    return std::make_pair(int(flag >> 40), flag & ((uint64_t{1} << 40) - 1));
  }

  absl::Status Quotients(std::span<const QuotientTable> tables) override {
    if (tables.empty()) return absl::OkStatus();
    ENTER_DEVICE(ctx_->ordinal());
    const uint32_t T = uint32_t(tables.size());
    const QuotientPlan plan = PlanQuotients(tables);
    const std::vector<uint64_t>& prefix = plan.prefix;
    const uint32_t base_regs = plan.base_regs, ext_regs = plan.ext_regs;
    const uint64_t threads =
        kernels::ProgramThreads(ctx_->grid(), kernels::ProgramKernel::kQuotients);
    ASSIGN_OR_RETURN_(scratch, Scratch(kernels::ProgramScratchWords(base_regs, ext_regs, threads)));
    ASSIGN_OR_RETURN_(dtables, StageArray(tables));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    return Launched(rt().LaunchQuotients(dtables, T, dprefix, prefix[T], scratch, base_regs,
                                         ext_regs, ctx_->grid(), stream_, &launches_),
                    "LaunchQuotients");
  }

  absl::StatusOr<bool> AllZero(std::span<const uint64_t* const> cols, uint64_t begin,
                               uint64_t end) override {
    ENTER_DEVICE(ctx_->ordinal());
    ASSIGN_OR_RETURN_(flag, Scratch(1));
    CUDA_RETURN_IF_ERROR(MemsetAsync(flag, 0, 8, stream_));
    ASSIGN_OR_RETURN_(dcols, StageArray(cols));
    RETURN_IF_ERROR(Launched(
        rt().LaunchAllZero(dcols, uint32_t(cols.size()), begin, end,
                           reinterpret_cast<unsigned long long*>(flag), stream_, &launches_),
        "LaunchAllZero"));
    uint64_t v = 1;
    RETURN_IF_ERROR(Download(&v, flag, 1));
    return v == 0;
  }

  absl::StatusOr<std::vector<Fp3>> EvalPolys(std::span<const PolyEval> polys) override {
    if (polys.empty()) return std::vector<Fp3>{};
    ENTER_DEVICE(ctx_->ordinal());
    const uint32_t P = uint32_t(polys.size());
    std::vector<uint64_t> prefix(P + 1, 0);
    for (uint32_t k = 0; k < P; ++k)
      prefix[k + 1] = prefix[k] + (polys[k].len + kernels::kEvalChunk - 1) / kernels::kEvalChunk;
    ASSIGN_OR_RETURN_(partials, Scratch(3 * prefix[P]));
    ASSIGN_OR_RETURN_(out, Scratch(3 * uint64_t{P}));
    ASSIGN_OR_RETURN_(dpolys, StageArray(polys));
    ASSIGN_OR_RETURN_(dprefix, StageVector(prefix));
    RETURN_IF_ERROR(Launched(
        rt().LaunchEvalPolys(dpolys, P, dprefix, prefix[P], partials, out, stream_, &launches_),
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
    ENTER_DEVICE(ctx_->ordinal());
    const DeepPlan plan = PlanDeep(tables);
    ASSIGN_OR_RETURN_(dtables, StageVector(plan.tables));
    ASSIGN_OR_RETURN_(dtargets, StageVector(plan.targets));
    ASSIGN_OR_RETURN_(dprefix, StageVector(plan.group_prefix));
    return Launched(rt().LaunchDeep(dtables, dtargets, uint32_t(plan.targets.size()), dprefix,
                                    plan.group_prefix.back(), lde_shift, stream_, &launches_),
                    "LaunchDeep");
  }

  absl::Status FoldTwiddles(uint64_t* out, int log_m) override {
    ENTER_DEVICE(ctx_->ordinal());
    return Launched(rt().LaunchFoldTwiddles(out, log_m, stream_, &launches_), "LaunchFoldTwiddles");
  }
  absl::Status Fold(const FoldArgs& args) override {
    ENTER_DEVICE(ctx_->ordinal());
    return Launched(rt().LaunchFold(args, stream_, &launches_), "LaunchFold");
  }
  absl::Status Gather(std::span<const uint64_t* const> addresses, uint64_t* host_out) override {
    if (addresses.empty()) return absl::OkStatus();
    ENTER_DEVICE(ctx_->ordinal());
    ASSIGN_OR_RETURN_(daddr, StageArray(addresses));
    ASSIGN_OR_RETURN_(out, Scratch(addresses.size()));
    RETURN_IF_ERROR(Launched(rt().LaunchGather(daddr, addresses.size(), out, stream_, &launches_),
                             "LaunchGather"));
    return Download(host_out, out, addresses.size());
  }

  DeviceStats stats() const override {
    DeviceStats s;
    s.launches = launches_;
    return s;
  }

 private:
  absl::Status Launched(RtError e, const char* what) {
    ctx_->launches_ += launches_ - counted_;
    counted_ = launches_;
    return CudaStatus(rt(), e, what, __FILE__, __LINE__);
  }

  std::shared_ptr<GpuContext> ctx_;
  RtStream stream_ = nullptr;
  std::map<uint64_t*, uint64_t> live_;
  std::vector<uint64_t*> arena_;
  std::vector<DeviceDomainCache::Lease> domain_leases_;
  uint64_t launches_ = 0, counted_ = 0;
};

class CudaBackendImpl final : public CudaBackend {
 public:
  CudaBackendImpl(std::shared_ptr<GpuContext> ctx, std::string name)
      : ctx_(ctx),
        name_(std::move(name)),
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
  absl::StatusOr<std::unique_ptr<Device>> NewDevice() override {
    return std::unique_ptr<Device>(new CudaDevice(ctx_));
  }

 private:
  std::shared_ptr<GpuContext> ctx_;
  std::string name_;
  std::unique_ptr<Backend> inner_;
};

}  // namespace

GpuDiscovery DiscoverGpus(Runtime& rt) {
  GpuDiscovery out;
  int count = 0;
  const RtError e = rt.GetDeviceCount(&count);
  if (e != rt::kSuccess) {
    (void)rt.GetLastError();
    out.unavailable = absl::StrCat("cuda: no usable driver or GPU (", rt.ErrorName(e), ": ",
                                   rt.ErrorString(e), ")");
    return out;
  }
  if (count == 0) {
    out.unavailable = "cuda: no GPU is visible";
    return out;
  }
  for (int i = 0; i < count; ++i) {
    GpuInfo info;
    if (const RtError pe = rt.GetDeviceProperties(&info, i); pe != rt::kSuccess) {
      (void)rt.GetLastError();
      out.unavailable =
          absl::StrCat("cuda:", i, ": its properties cannot be read (", rt.ErrorName(pe), ")");
      continue;
    }
    // The binary carries sm_90 code and compute_90 PTX: older GPUs cannot run it.
    if (info.compute_major < 9) {
      out.unavailable =
          absl::StrCat("cuda:", i, " (", info.name, ", sm_", info.compute_major, info.compute_minor,
                       ") is older than sm_90, which this build targets");
      continue;
    }
    out.gpus.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<CudaBackend>> MakeRuntimeBackend(std::shared_ptr<Runtime> runtime,
                                                                int ordinal,
                                                                const GpuOptions& options,
                                                                std::string name) {
  auto ctx = GpuContext::Open(std::move(runtime), ordinal, options);
  if (!ctx.ok()) return ctx.status();
  if (name.empty()) name = absl::StrCat("cuda:", ordinal);
  return std::unique_ptr<CudaBackend>(new CudaBackendImpl(*std::move(ctx), std::move(name)));
}

}  // namespace prover::backend::cuda
