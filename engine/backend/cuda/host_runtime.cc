#include "engine/backend/cuda/host_runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/thread_bodies.h"

namespace prover::backend::cuda {

using kernels::RegisterFile;

namespace {

// What the host runtime puts where the GPU leaves memory uninitialized (fresh device memory,
// register scratch, shared memory): a fixed canonical value unlikely to be right by accident.
constexpr uint64_t kPoisonWord = 0x5ca1ab1e0ddba11ull;

// The calling thread's last error and current device (per host thread, as in CUDA).
thread_local RtError t_last_error = rt::kSuccess;
thread_local int t_device = 0;

struct NamedError {
  RtError code;
  const char* name;
  const char* text;
};
constexpr NamedError kErrors[] = {
    {rt::kSuccess, "cudaSuccess", "no error"},
    {rt::kInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {rt::kMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {rt::kDevicesUnavailable, "cudaErrorDevicesUnavailable", "CUDA-capable device(s) is/are busy"},
    {rt::kNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {rt::kInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {rt::kEccUncorrectable, "cudaErrorECCUncorrectable", "uncorrectable ECC error encountered"},
    {rt::kIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {rt::kLaunchTimeout, "cudaErrorLaunchTimeout", "the launch timed out and was terminated"},
    {rt::kLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
};

const NamedError* FindError(RtError e) {
  for (const NamedError& n : kErrors) {
    if (n.code == e) return &n;
  }
  return nullptr;
}

// A grid-stride launch of `blocks` blocks of `threads` over items [0, count): thread t takes
// t, t + blocks * threads, ..., as on the GPU.
template <typename F>
void GridStride(uint64_t blocks, uint32_t threads, uint64_t count, F&& item) {
  const uint64_t grid = blocks * threads;
  for (uint64_t t = 0; t < grid && t < count; ++t) {
    for (uint64_t i = t; i < count; i += grid) item(i);
  }
}

// A program kernel's launch over items [0, prefix[T]) of T tables: the resident grid of
// ProgramThreads(g, kernel) threads, thread t's registers at their place in `scratch` (which
// the device allocated, so it starts poisoned), item g to body(table, g - prefix[table],
// registers).
template <typename Body>
void ProgramGrid(const kernels::GridLimits& g, kernels::ProgramKernel kernel,
                 const uint64_t* prefix, uint32_t T, uint64_t* scratch, uint32_t base_regs,
                 Body&& body) {
  const uint64_t threads = kernels::ProgramThreads(g, kernel);
  for (uint64_t t = 0; t < threads; ++t) {
    const RegisterFile regs = kernels::ThreadRegisterFile(scratch, base_regs, threads, t);
    for (uint64_t item = t; item < prefix[T]; item += threads) {
      const uint32_t table = kernels::FindSegment(prefix, T, item);
      body(table, item - prefix[table], regs);
    }
  }
}

void Count(uint64_t* launches, uint64_t k = 1) {
  if (launches != nullptr) *launches += k;
}

}  // namespace

HostRuntime::HostRuntime(const HostRuntimeOptions& options) : options_(options) {}

HostRuntime::~HostRuntime() {
  for (auto& [p, bytes] : device_) delete[] static_cast<uint64_t*>(p);
  for (auto& [p, bytes] : pinned_) delete[] static_cast<char*>(p);
}

void HostRuntime::FailCall(uint64_t n, RtError error) {
  fail_with_ = error;
  fail_at_ = n == 0 ? 0 : calls_.load() + n;
  injected_ = false;
}

std::string HostRuntime::injected_call() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_call_;
}

HostRuntime::Held HostRuntime::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  Held h;
  h.device_bytes = device_bytes_;
  h.device_allocations = device_.size();
  for (auto& [p, bytes] : pinned_) h.pinned_bytes += bytes;
  h.streams = streams_;
  h.events = events_;
  h.pool_footprint = pool_footprint_;
  return h;
}

std::vector<uint64_t> HostRuntime::copies_from_pinned() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out(pinned_order_.size());
  std::vector<std::pair<uint64_t, uint64_t>> order;
  for (auto& [p, n] : pinned_order_) order.emplace_back(n, pinned_copies_.at(p));
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < order.size(); ++i) out[i] = order[i].second;
  return out;
}

RtError HostRuntime::Fail(RtError e) {
  if (IsStickyCudaError(e)) {
    RtError none = rt::kSuccess;
    sticky_.compare_exchange_strong(none, e);
  }
  t_last_error = e;
  return e;
}

RtError HostRuntime::Enter(const char* call) {
  if (const RtError s = sticky_.load(); s != rt::kSuccess) return s;
  const uint64_t n = ++calls_;
  if (n == fail_at_.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      injected_call_ = call;
    }
    injected_ = true;
    return Fail(fail_with_.load());
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchResult() { return GetLastError(); }

// Error queries ---------------------------------------------------------------------------
std::string HostRuntime::ErrorName(RtError e) const {
  const NamedError* n = FindError(e);
  return n != nullptr ? n->name : absl::StrCat("cudaError(", e, ")");
}
std::string HostRuntime::ErrorString(RtError e) const {
  const NamedError* n = FindError(e);
  return absl::StrCat(n != nullptr ? n->text : "unknown error", " (host runtime)");
}
RtError HostRuntime::GetLastError() {
  if (const RtError s = sticky_.load(); s != rt::kSuccess) {
    // This runtime's, not the thread's: another runtime on this thread starts clean.
    t_last_error = rt::kSuccess;
    return s;
  }
  const RtError e = t_last_error;
  t_last_error = rt::kSuccess;
  return e;
}

// Devices ---------------------------------------------------------------------------------
#define HOST_ENTER(call)                                               \
  do {                                                                 \
    if (const RtError e_ = Enter(call); e_ != rt::kSuccess) return e_; \
  } while (0)

RtError HostRuntime::GetDeviceCount(int* count) {
  HOST_ENTER("cudaGetDeviceCount");
  *count = options_.devices;
  return rt::kSuccess;
}
RtError HostRuntime::GetDevice(int* ordinal) {
  HOST_ENTER("cudaGetDevice");
  *ordinal = t_device;
  return rt::kSuccess;
}
RtError HostRuntime::SetDevice(int ordinal) {
  HOST_ENTER("cudaSetDevice");
  if (ordinal < 0 || ordinal >= options_.devices) return Fail(rt::kInvalidDevice);
  t_device = ordinal;
  return rt::kSuccess;
}
RtError HostRuntime::GetDeviceProperties(GpuInfo* info, int ordinal) {
  HOST_ENTER("cudaGetDeviceProperties");
  if (ordinal < 0 || ordinal >= options_.devices) return Fail(rt::kInvalidDevice);
  *info = {ordinal, "emulated GPU (host runtime)", options_.memory_bytes, options_.sm_count, 9, 0};
  return rt::kSuccess;
}
RtError HostRuntime::MemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  HOST_ENTER("cudaMemGetInfo");
  std::lock_guard<std::mutex> lock(mu_);
  *total_bytes = options_.memory_bytes;
  *free_bytes = options_.memory_bytes - pool_footprint_;
  return rt::kSuccess;
}
RtError HostRuntime::ProgramOccupancy(kernels::GridLimits* g) {
  HOST_ENTER("cudaProgramOccupancy");
  g->aux_blocks_per_sm = options_.blocks_per_sm;
  g->quotient_blocks_per_sm = options_.blocks_per_sm;
  return rt::kSuccess;
}

// Memory ----------------------------------------------------------------------------------
namespace {
struct PoolTag {};
PoolTag g_pool;
}  // namespace

RtError HostRuntime::DefaultPoolKeepingFreed(RtPool* pool, int ordinal) {
  HOST_ENTER("cudaDefaultPoolKeepingFreed");
  if (ordinal < 0 || ordinal >= options_.devices) return Fail(rt::kInvalidDevice);
  *pool = reinterpret_cast<RtPool>(&g_pool);
  return rt::kSuccess;
}
RtError HostRuntime::MallocFromPoolAsync(void** p, size_t bytes, RtPool, RtStream) {
  HOST_ENTER("cudaMallocFromPoolAsync");
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes > options_.memory_bytes - device_bytes_) return Fail(rt::kMemoryAllocation);
  const uint64_t words = bytes / 8 + (bytes % 8 != 0);
  // The host's own shortage is the device's out of memory, as on a GPU.
  uint64_t* mem = new (std::nothrow) uint64_t[std::max<uint64_t>(words, 1)];
  if (mem == nullptr) return Fail(rt::kMemoryAllocation);
  std::fill(mem, mem + words, kPoisonWord);
  device_[mem] = bytes;
  device_bytes_ += bytes;
  // The pool keeps what it freed: its footprint is the most it ever held at once.
  pool_footprint_ = std::max(pool_footprint_, device_bytes_);
  *p = mem;
  return rt::kSuccess;
}
RtError HostRuntime::FreeAsync(void* p, RtStream) {
  HOST_ENTER("cudaFreeAsync");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = device_.find(p);
  if (it == device_.end()) return Fail(rt::kInvalidValue);
  device_bytes_ -= it->second;
  device_.erase(it);
  delete[] static_cast<uint64_t*>(p);
  return rt::kSuccess;
}
RtError HostRuntime::MallocHost(void** p, size_t bytes) {
  HOST_ENTER("cudaMallocHost");
  std::lock_guard<std::mutex> lock(mu_);
  char* mem = new (std::nothrow) char[std::max<size_t>(bytes, 1)];
  if (mem == nullptr) return Fail(rt::kMemoryAllocation);
  pinned_[mem] = bytes;
  pinned_order_[mem] = pinned_order_.size();
  pinned_copies_[mem] = 0;
  *p = mem;
  return rt::kSuccess;
}
RtError HostRuntime::FreeHost(void* p) {
  HOST_ENTER("cudaFreeHost");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pinned_.find(p);
  if (it == pinned_.end()) return Fail(rt::kInvalidValue);
  pinned_.erase(it);
  pinned_order_.erase(p);
  pinned_copies_.erase(p);
  delete[] static_cast<char*>(p);
  return rt::kSuccess;
}
RtError HostRuntime::MemcpyAsync(void* dst, const void* src, size_t bytes, RtCopy, RtStream) {
  HOST_ENTER("cudaMemcpyAsync");
  if (bytes != 0) std::memcpy(dst, src, bytes);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = pinned_copies_.find(const_cast<void*>(src)); it != pinned_copies_.end())
    ++it->second;
  return rt::kSuccess;
}
RtError HostRuntime::MemsetAsync(void* dst, int value, size_t bytes, RtStream) {
  HOST_ENTER("cudaMemsetAsync");
  std::memset(dst, value, bytes);
  return rt::kSuccess;
}

// Streams and events: work runs when it is enqueued, so waiting returns at once. -----------
struct RtStreamHandle {};
struct RtEventHandle {};

RtError HostRuntime::StreamCreate(RtStream* s) {
  HOST_ENTER("cudaStreamCreate");
  std::lock_guard<std::mutex> lock(mu_);
  *s = new RtStreamHandle();
  ++streams_;
  return rt::kSuccess;
}
RtError HostRuntime::StreamDestroy(RtStream s) {
  HOST_ENTER("cudaStreamDestroy");
  std::lock_guard<std::mutex> lock(mu_);
  delete s;
  --streams_;
  return rt::kSuccess;
}
RtError HostRuntime::StreamSynchronize(RtStream) {
  HOST_ENTER("cudaStreamSynchronize");
  return rt::kSuccess;
}
RtError HostRuntime::EventCreate(RtEvent* e) {
  HOST_ENTER("cudaEventCreate");
  std::lock_guard<std::mutex> lock(mu_);
  *e = new RtEventHandle();
  ++events_;
  return rt::kSuccess;
}
RtError HostRuntime::EventDestroy(RtEvent e) {
  HOST_ENTER("cudaEventDestroy");
  std::lock_guard<std::mutex> lock(mu_);
  delete e;
  --events_;
  return rt::kSuccess;
}
RtError HostRuntime::EventRecord(RtEvent, RtStream) {
  HOST_ENTER("cudaEventRecord");
  return rt::kSuccess;
}
RtError HostRuntime::EventSynchronize(RtEvent) {
  HOST_ENTER("cudaEventSynchronize");
  return rt::kSuccess;
}

// Kernels: as kernels/prover_kernels.cu launches them -------------------------------------
// A launcher that fails to enqueue returns its error (cleared, as cudaGetLastError does);
// one that enqueues returns the thread's last error, as the real launchers do.
#define HOST_LAUNCH(call)                                     \
  do {                                                        \
    if (const RtError e_ = Enter(call); e_ != rt::kSuccess) { \
      (void)GetLastError();                                   \
      return e_;                                              \
    }                                                         \
  } while (0)

RtError HostRuntime::LaunchPowers(uint64_t* out, Fp base, uint64_t count, RtStream,
                                  uint64_t* launches) {
  HOST_LAUNCH("LaunchPowers");
  GridStride(kernels::BlocksFor(count), kernels::kBlock, count,
             [&](uint64_t j) { kernels::PowerItem(out, base, j); });
  Count(launches);
  return LaunchResult();
}

// Per pass and column slice, as the kernel: per block a grid-stride loop over tiles; per tile
// each phase run by every thread of the block in turn, the phases split where the kernel has
// its barriers. The block's shared array starts poisoned.
RtError HostRuntime::LaunchNtt(uint64_t* const* cols, uint32_t num_cols, int log_n, const Fp* tw,
                               int log_tw, RtStream, uint64_t* launches) {
  if (log_n == 0 || num_cols == 0) return rt::kSuccess;
  kernels::NttPass passes[8];
  const int count = kernels::PlanNtt(log_n, passes);
  std::vector<uint64_t> shared(uint64_t{1} << kernels::kNttTileBits);
  for (int pi = 0; pi < count; ++pi) {
    const kernels::NttPass& p = passes[pi];
    const kernels::NttPassGeometry g = kernels::NttPassLaunch(p);
    for (uint32_t k = 0; k < kernels::NumColumnSlices(num_cols); ++k) {
      HOST_LAUNCH("LaunchNtt");
      const kernels::ColumnSlice slice = kernels::ColumnSliceAt(num_cols, k);
      for (uint32_t y = 0; y < slice.count; ++y) {
        uint64_t* col = cols[slice.first + y];
        for (uint32_t block = 0; block < g.blocks; ++block) {
          std::fill(shared.begin(), shared.end(), kPoisonWord);
          for (uint64_t tile = block; tile < p.tiles(); tile += g.blocks) {
            for (uint32_t tid = 0; tid < g.threads; ++tid)
              kernels::NttTileLoad(p, col, tile, tid, g.threads, shared.data());
            for (int t = 0; t < p.stages; ++t) {
              for (uint32_t tid = 0; tid < g.threads; ++tid)
                kernels::NttTileStage(p, tile, t, tid, g.threads, shared.data(), tw, log_tw);
            }
            for (uint32_t tid = 0; tid < g.threads; ++tid)
              kernels::NttTileStore(p, col, tile, tid, g.threads, shared.data());
          }
        }
      }
      Count(launches);
      if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
    }
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchBitReverse(uint64_t* const* cols, uint32_t num_cols, int log_n, Fp scale,
                                      RtStream, uint64_t* launches) {
  const uint64_t n = uint64_t{1} << log_n;
  for (uint32_t k = 0; k < kernels::NumColumnSlices(num_cols); ++k) {
    HOST_LAUNCH("LaunchBitReverse");
    const kernels::ColumnSlice slice = kernels::ColumnSliceAt(num_cols, k);
    for (uint32_t y = 0; y < slice.count; ++y) {
      uint64_t* col = cols[slice.first + y];
      GridStride(kernels::BlocksFor(n, kernels::kBlock, 4096), kernels::kBlock, n,
                 [&](uint64_t i) { kernels::BitReverseItem(col, log_n, scale, i); });
    }
    Count(launches);
    if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchSpread(const uint64_t* const* src, uint64_t* const* dst, const Fp* scale,
                                  uint32_t num_cols, int log_n, int log_len, const Fp* shift_pows,
                                  RtStream, uint64_t* launches) {
  const uint64_t len = uint64_t{1} << log_len;
  for (uint32_t k = 0; k < kernels::NumColumnSlices(num_cols); ++k) {
    HOST_LAUNCH("LaunchSpread");
    const kernels::ColumnSlice slice = kernels::ColumnSliceAt(num_cols, k);
    for (uint32_t y = 0; y < slice.count; ++y) {
      const uint32_t c = slice.first + y;
      GridStride(
          kernels::BlocksFor(len, kernels::kBlock, 4096), kernels::kBlock, len,
          [&](uint64_t i) { kernels::SpreadItem(src[c], dst[c], scale[c], log_n, shift_pows, i); });
    }
    Count(launches);
    if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchMerkle(const kernels::TreeMatrix* matrices, uint32_t num_matrices,
                                  const uint64_t* row_prefix, uint64_t total_rows,
                                  const kernels::TreeLevel* levels, int log_leaves, uint64_t* nodes,
                                  RtStream, uint64_t* launches) {
  if (num_matrices == 0) return rt::kSuccess;
  HOST_LAUNCH("LaunchMerkle");
  GridStride(kernels::BlocksFor(total_rows, kernels::kHashBlock), kernels::kHashBlock, total_rows,
             [&](uint64_t g) { kernels::MerkleRowThread(matrices, num_matrices, row_prefix, g); });
  Count(launches);
  if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
  for (int l = log_leaves; l >= 0; --l) {
    const bool children = l < log_leaves;
    if (!children && levels[l].count < 2) continue;  // as the CUDA launcher
    HOST_LAUNCH("LaunchMerkle");
    const uint64_t total = uint64_t{1} << l;
    GridStride(kernels::BlocksFor(total, kernels::kHashBlock), kernels::kHashBlock, total,
               [&](uint64_t i) {
                 kernels::MerkleLevelThread(matrices, levels[l], nodes, l, children, i);
               });
    Count(launches);
    if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchAuxRows(const kernels::AuxTable* tables, uint32_t num_tables,
                                   const uint64_t* row_prefix, uint64_t, uint64_t* scratch,
                                   uint32_t base_regs, uint32_t, unsigned long long* bad,
                                   const kernels::GridLimits& g, RtStream, uint64_t* launches) {
  HOST_LAUNCH("LaunchAuxRows");
  ProgramGrid(
      g, kernels::ProgramKernel::kAuxRows, row_prefix, num_tables, scratch, base_regs,
      [&](uint32_t table, uint64_t row, const RegisterFile& regs) {
        kernels::AuxRowThread(tables[table], table, row, regs, [&](uint32_t tt, uint64_t r) {
          *bad =
              std::min<unsigned long long>(*bad, (static_cast<unsigned long long>(tt) << 40) | r);
        });
      });
  Count(launches);
  return LaunchResult();
}

// The three launches, with each block's reduce and exclusive scan (CUB's on the GPU) done
// over its threads in order.
RtError HostRuntime::LaunchSegmentedScan(const kernels::ScanChunk* chunks, uint32_t num_chunks,
                                         const kernels::ScanSegment* segments,
                                         uint32_t num_segments, uint64_t* chunk_sums, RtStream,
                                         uint64_t* launches) {
  if (num_chunks == 0) return rt::kSuccess;
  HOST_LAUNCH("LaunchSegmentedScan");
  using kernels::kBlock;
  using kernels::kScanItems;
  for (uint32_t ci = 0; ci < num_chunks; ++ci) {
    Fp total = Fp::Zero();
    for (uint32_t tid = 0; tid < kBlock; ++tid)
      total += kernels::ScanChunkShare(chunks[ci], tid, kBlock);
    chunk_sums[ci] = total.value();
  }
  GridStride(kernels::BlocksFor(num_segments, kernels::kScanOffsetsBlock),
             kernels::kScanOffsetsBlock, num_segments,
             [&](uint64_t s) { kernels::ScanSegmentOffsets(segments[s], chunk_sums); });
  std::vector<Fp> items(uint64_t{kBlock} * kScanItems);
  for (uint32_t ci = 0; ci < num_chunks; ++ci) {
    const kernels::ScanChunk& c = chunks[ci];
    Fp(*per_thread)[kScanItems] = reinterpret_cast<Fp(*)[kScanItems]>(items.data());
    for (uint32_t tid = 0; tid < kBlock; ++tid) kernels::ScanChunkLoad(c, tid, per_thread[tid]);
    Fp acc = Fp::Zero();  // the block's exclusive scan over the blocked arrangement
    for (Fp& v : items) {
      const Fp x = v;
      v = acc;
      acc += x;
    }
    for (uint32_t tid = 0; tid < kBlock; ++tid) {
      kernels::ScanChunkStore(c, segments[c.segment], Fp::FromCanonical(chunk_sums[ci]), tid,
                              per_thread[tid]);
    }
  }
  Count(launches, 3);
  return LaunchResult();
}

RtError HostRuntime::LaunchQuotients(const kernels::QuotientTable* tables, uint32_t num_tables,
                                     const uint64_t* group_prefix, uint64_t, uint64_t* scratch,
                                     uint32_t base_regs, uint32_t, const kernels::GridLimits& g,
                                     RtStream, uint64_t* launches) {
  HOST_LAUNCH("LaunchQuotients");
  ProgramGrid(g, kernels::ProgramKernel::kQuotients, group_prefix, num_tables, scratch, base_regs,
              [&](uint32_t table, uint64_t thread, const RegisterFile& regs) {
                kernels::QuotientPoints(tables[table], thread, regs);
              });
  Count(launches);
  return LaunchResult();
}

RtError HostRuntime::LaunchAllZero(const uint64_t* const* cols, uint32_t num_cols, uint64_t begin,
                                   uint64_t end, unsigned long long* flag, RtStream,
                                   uint64_t* launches) {
  if (end <= begin) return rt::kSuccess;
  for (uint32_t k = 0; k < kernels::NumColumnSlices(num_cols); ++k) {
    HOST_LAUNCH("LaunchAllZero");
    const kernels::ColumnSlice slice = kernels::ColumnSliceAt(num_cols, k);
    for (uint32_t y = 0; y < slice.count; ++y) {
      const uint64_t* col = cols[slice.first + y];
      GridStride(kernels::BlocksFor(end - begin, kernels::kBlock, 4096), kernels::kBlock,
                 end - begin, [&](uint64_t i) {
                   if (col[begin + i] != 0) *flag |= 1ull;
                 });
    }
    Count(launches);
    if (const RtError e = LaunchResult(); e != rt::kSuccess) return e;
  }
  return rt::kSuccess;
}

RtError HostRuntime::LaunchEvalPolys(const kernels::PolyEval* polys, uint32_t num_polys,
                                     const uint64_t* chunk_prefix, uint64_t total_chunks,
                                     uint64_t* partials, uint64_t* out, RtStream,
                                     uint64_t* launches) {
  if (num_polys == 0) return rt::kSuccess;
  HOST_LAUNCH("LaunchEvalPolys");
  GridStride(
      kernels::BlocksFor(total_chunks, kernels::kPointsBlock), kernels::kPointsBlock, total_chunks,
      [&](uint64_t g) { kernels::EvalChunkItem(polys, num_polys, chunk_prefix, partials, g); });
  for (uint32_t k = 0; k < num_polys; ++k) {  // one block per polynomial
    for (int c = 0; c < 3; ++c) {
      Fp total = Fp::Zero();
      for (uint64_t g = chunk_prefix[k]; g < chunk_prefix[k + 1]; ++g)
        total += Fp::FromCanonical(partials[3 * g + c]);
      out[3 * k + c] = total.value();
    }
  }
  Count(launches, 2);
  return LaunchResult();
}

RtError HostRuntime::LaunchDeep(const kernels::DeepTable* tables,
                                const kernels::DeepTarget* targets, uint32_t num_targets,
                                const uint64_t* group_prefix, uint64_t total_groups, Fp lde_shift,
                                RtStream, uint64_t* launches) {
  if (num_targets == 0) return rt::kSuccess;
  HOST_LAUNCH("LaunchDeep");
  GridStride(kernels::BlocksFor(total_groups, kernels::kPointsBlock), kernels::kPointsBlock,
             total_groups, [&](uint64_t g) {
               const uint32_t ti = kernels::FindSegment(group_prefix, num_targets, g);
               kernels::DeepPoints(tables, targets[ti], g - group_prefix[ti], lde_shift);
             });
  Count(launches);
  return LaunchResult();
}

RtError HostRuntime::LaunchFoldTwiddles(uint64_t* out, int log_m, RtStream, uint64_t* launches) {
  HOST_LAUNCH("LaunchFoldTwiddles");
  const uint64_t half = log_m == 0 ? 1 : uint64_t{1} << (log_m - 1);
  const Fp w_inv = Fp::RootOfUnity(log_m).Inverse();
  GridStride(kernels::BlocksFor(half), kernels::kBlock, half,
             [&](uint64_t c) { kernels::FoldTwiddleItem(out, w_inv, log_m, c); });
  Count(launches);
  return LaunchResult();
}

RtError HostRuntime::LaunchFold(const kernels::FoldArgs& args, RtStream, uint64_t* launches) {
  HOST_LAUNCH("LaunchFold");
  const bool launched = kernels::WithFoldLogArity(args.log_a, [&](auto log_a) {
    GridStride(kernels::BlocksFor(args.groups), kernels::kBlock, args.groups,
               [&](uint64_t c) { kernels::FoldPoint<decltype(log_a)::value>(args, c); });
  });
  if (!launched) return rt::kInvalidValue;
  Count(launches);
  return LaunchResult();
}

RtError HostRuntime::LaunchGather(const uint64_t* const* addresses, uint64_t count, uint64_t* out,
                                  RtStream, uint64_t* launches) {
  if (count == 0) return rt::kSuccess;
  HOST_LAUNCH("LaunchGather");
  GridStride(kernels::BlocksFor(count), kernels::kBlock, count,
             [&](uint64_t i) { out[i] = *addresses[i]; });
  Count(launches);
  return LaunchResult();
}

GpuOptions EmulatedGpuOptions() {
  GpuOptions o;
  o.staging_bytes = uint64_t{256} << 10;
  return o;
}

std::unique_ptr<CudaBackend> MakeEmulatedCudaBackend(std::shared_ptr<HostRuntime>* runtime,
                                                     const GpuOptions& options,
                                                     const HostRuntimeOptions& runtime_options) {
  auto rt = std::make_shared<HostRuntime>(runtime_options);
  if (runtime != nullptr) *runtime = rt;
  auto backend = MakeRuntimeBackend(rt, 0, options, "cuda-emulated");
  // A fresh host runtime has no failure to inject and nothing else that can fail.
  if (!backend.ok()) {
    std::fprintf(stderr, "host runtime: %s\n", std::string(backend.status().message()).c_str());
    std::abort();
  }
  return *std::move(backend);
}

}  // namespace prover::backend::cuda
