#include "engine/backend/cuda/emulated_device.h"

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "engine/backend/cuda/device_job.h"
#include "engine/backend/cuda/domain_cache.h"
#include "engine/backend/cuda/launch_plan.h"
#include "kernels/thread_bodies.h"

namespace prover::backend::cuda {
namespace {

using kernels::RegisterFile;

// Domains shared by every emulated job, like the per-GPU cache of the CUDA engine.

// The emulated devices' domains: the CUDA device's cache logic (domain_cache.h) over host
// memory, shared by every emulated device of the process, with no budget.
DeviceDomainCache& HostDomains() {
  static DeviceDomainCache* cache = new DeviceDomainCache(DeviceDomainCache::Hooks{
      [](uint64_t) { return true; }, [](uint64_t) {},
      [](int log_n, int log_blowup, Fp shift) -> absl::StatusOr<DeviceDomainCache::Storage> {
        const int log_N = log_n + log_blowup;
        const uint64_t half = log_N == 0 ? 1 : uint64_t{1} << (log_N - 1);
        const uint64_t n = uint64_t{1} << log_n;
        Fp* memory = new Fp[2 * half + n];
        const Fp w = Fp::RootOfUnity(log_N), w_inv = w.Inverse();
        Fp a = Fp::One(), b = Fp::One();
        for (uint64_t j = 0; j < half; ++j, a *= w, b *= w_inv) {
          memory[j] = a;
          memory[half + j] = b;
        }
        Fp x = Fp::One();
        for (uint64_t k = 0; k < n; ++k, x *= shift) memory[2 * half + k] = x;
        DeviceDomainCache::Storage out;
        out.memory = memory;
        out.view = {log_n, log_N, shift, memory, memory + half, memory + 2 * half};
        return out;
      },
      [](void* memory) { delete[] static_cast<Fp*>(memory); }});
  return *cache;
}

Fp AsFp(uint64_t v) { return Fp::FromCanonical(v); }

// What the emulated device puts where the GPU leaves memory uninitialized (register
// scratch, shared memory): a fixed canonical value unlikely to be right by accident.
constexpr uint64_t kPoisonWord = 0x5ca1ab1e0ddba11ull;
const Fp kPoison = Fp::FromCanonical(kPoisonWord);

// The program kernels' threads, emulated as a grid of this many: thread t takes items t,
// t + 96, ... in a grid-stride loop, its registers at the GPU's layout and stride
// (ThreadRegisterFile) in poisoned scratch, so that a program reading a register before
// writing it, or a stride mistake, gives a wrong proof, which the tests see. Three warps,
// not a power of two.
constexpr uint64_t kEmulatedProgramThreads = 96;

// A program kernel's launch: items [0, prefix[T]) over the tables (prefix: T + 1 running
// counts), body(table, item within the table, the thread's registers).
template <typename Body>
void ProgramGrid(const std::vector<uint64_t>& prefix, uint32_t T, uint32_t base_regs,
                 uint32_t ext_regs, Body body) {
  std::vector<uint64_t> scratch(
      kernels::ProgramScratchWords(base_regs, ext_regs, kEmulatedProgramThreads), kPoisonWord);
  for (uint64_t t = 0; t < kEmulatedProgramThreads; ++t) {
    const RegisterFile regs =
        kernels::ThreadRegisterFile(scratch.data(), base_regs, kEmulatedProgramThreads, t);
    for (uint64_t g = t; g < prefix[T]; g += kEmulatedProgramThreads) {
      const uint32_t table = kernels::FindSegment(prefix.data(), T, g);
      body(table, g - prefix[table], regs);
    }
  }
}

class EmulatedDevice final : public Device {
 public:
  ~EmulatedDevice() override {
    for (auto& [p, words] : live_) delete[] p;
  }
  std::string name() const override { return "emulated"; }

  absl::StatusOr<uint64_t*> Alloc(uint64_t words) override {
    uint64_t* p = new uint64_t[words];
    // Fresh device memory is not zero; fill it with a pattern no result can depend on.
    for (uint64_t i = 0; i < words; ++i) p[i] = 0xDEADBEEFDEADBEEFull;
    live_[p] = words;
    return p;
  }
  void Free(uint64_t* p) override {
    live_.erase(p);
    delete[] p;
  }
  absl::Status Upload(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    std::memcpy(dst, src, 8 * words);
    stats_.bytes_to_device += 8 * words;
    return absl::OkStatus();
  }
  absl::Status Download(uint64_t* dst, const uint64_t* src, uint64_t words) override {
    std::memcpy(dst, src, 8 * words);
    stats_.bytes_to_host += 8 * words;
    return absl::OkStatus();
  }
  absl::Status Zero(uint64_t* dst, uint64_t words) override {
    std::memset(dst, 0, 8 * words);
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    arena_.clear();
    return absl::OkStatus();
  }
  absl::StatusOr<const DeviceDomain*> Domain(int log_n, int log_blowup, Fp shift) override {
    absl::StatusOr<DeviceDomainCache::Lease> lease = HostDomains().Get(log_n, log_blowup, shift);
    if (!lease.ok()) return lease.status();
    domain_leases_.push_back(*std::move(lease));
    return domain_leases_.back().get();
  }
  absl::StatusOr<void*> Stage(const void* host, uint64_t bytes) override {
    arena_.emplace_back(new uint64_t[(bytes + 7) / 8 + 1]);
    std::memcpy(arena_.back().get(), host, bytes);
    stats_.bytes_to_device += bytes;
    return static_cast<void*>(arena_.back().get());
  }

  // As the kernel: per pass, the launch geometry of geometry.h (column slices, blocks,
  // threads); per block a grid-stride loop over tiles; per tile each phase run by every
  // thread of the block in turn, the phases split where the kernel has its barriers. The
  // block's shared array starts poisoned, as shared memory holds garbage.
  absl::Status Ntt(std::span<uint64_t* const> cols, int log_n, const DeviceDomain& d,
                   bool inverse) override {
    kernels::NttPass passes[8];
    const int count = kernels::PlanNtt(log_n, passes);
    const Fp* tw = inverse ? d.inv : d.fwd;
    std::vector<uint64_t> shared(uint64_t{1} << kernels::kNttTileBits);
    const uint32_t num_cols = uint32_t(cols.size());
    for (int pi = 0; pi < count; ++pi) {
      const kernels::NttPass& p = passes[pi];
      const kernels::NttPassGeometry g = kernels::NttPassLaunch(p);
      for (uint32_t k = 0; k < kernels::NumColumnSlices(num_cols); ++k) {
        const kernels::ColumnSlice slice = kernels::ColumnSliceAt(num_cols, k);
        ++stats_.launches;
        for (uint32_t y = 0; y < slice.count; ++y) {
          uint64_t* col = cols[slice.first + y];
          for (uint32_t block = 0; block < g.blocks; ++block) {
            std::fill(shared.begin(), shared.end(), kPoisonWord);
            for (uint64_t tile = block; tile < p.tiles(); tile += g.blocks) {
              for (uint32_t tid = 0; tid < g.threads; ++tid)
                kernels::NttTileLoad(p, col, tile, tid, g.threads, shared.data());
              for (int t = 0; t < p.stages; ++t) {
                for (uint32_t tid = 0; tid < g.threads; ++tid) {
                  kernels::NttTileStage(p, tile, t, tid, g.threads, shared.data(), tw, d.log_N);
                }
              }
              for (uint32_t tid = 0; tid < g.threads; ++tid)
                kernels::NttTileStore(p, col, tile, tid, g.threads, shared.data());
            }
          }
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status BitReverse(std::span<uint64_t* const> cols, int log_n, Fp scale) override {
    ++stats_.launches;
    const uint64_t n = uint64_t{1} << log_n;
    for (uint64_t* col : cols) {
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t j = BitRev(i, log_n);
        if (i < j) std::swap(col[i], col[j]);
      }
      for (uint64_t i = 0; i < n; ++i) col[i] = (AsFp(col[i]) * scale).value();
    }
    return absl::OkStatus();
  }

  absl::Status Spread(std::span<const uint64_t* const> src, std::span<uint64_t* const> dst,
                      std::span<const Fp> scale, int log_n, int log_len,
                      const Fp* shift_pows) override {
    ++stats_.launches;
    const uint64_t n = uint64_t{1} << log_n, len = uint64_t{1} << log_len;
    for (size_t c = 0; c < src.size(); ++c) {
      for (uint64_t k = 0; k < len; ++k) {
        Fp v = Fp::Zero();
        if (k < n) {
          v = AsFp(src[c][k]) * scale[c];
          if (shift_pows != nullptr) v *= shift_pows[k];
        }
        dst[c][k] = v.value();
      }
    }
    return absl::OkStatus();
  }

  // As the kernels: one leaf launch over every tree, then one launch per level.
  absl::Status MerkleTrees(std::span<const TreeJob> trees) override {
    const MerklePlan plan = PlanMerkle(trees);
    const uint32_t T = uint32_t(trees.size());
    ++stats_.launches;
    for (uint64_t g = 0; g < plan.leaf_prefix[T]; ++g) {
      kernels::MerkleLeafThread(trees.data(), T, plan.leaf_prefix.data(), g);
    }
    for (int level = 1; level <= plan.levels; ++level) {
      ++stats_.launches;
      const uint64_t* prefix = plan.level_prefix.data() + uint64_t(level - 1) * (T + 1);
      for (uint64_t g = 0; g < plan.totals[level - 1]; ++g) {
        kernels::MerkleNodeThread(trees.data(), T, prefix, g, level);
      }
    }
    return absl::OkStatus();
  }

  // As the kernels (kernels/thread_bodies.h): a grid of kEmulatedProgramThreads threads
  // over the rows of every table (registers in the GPU's layout), then the segmented
  // scan's three launches, with the blocks' reduce and exclusive scan done in order on the
  // host (what CUB computes).
  absl::StatusOr<std::pair<int, uint64_t>> AuxColumns(std::span<const AuxTable> tables) override {
    stats_.launches += 4;
    const AuxPlan plan = PlanAux(tables);
    uint64_t bad = ~uint64_t{0};
    const uint32_t T = uint32_t(tables.size());
    ProgramGrid(plan.row_prefix, T, plan.base_regs, plan.ext_regs,
                [&](uint32_t table, uint64_t row, const RegisterFile& regs) {
                  kernels::AuxRowThread(tables[table], table, row, regs,
                                        [&](uint32_t tt, uint64_t r) {
                                          bad = std::min(bad, (uint64_t{tt} << 40) | r);
                                        });
                });
    std::vector<uint64_t> sums(plan.chunks.size());
    for (size_t ci = 0; ci < plan.chunks.size(); ++ci) {
      Fp total = Fp::Zero();
      for (uint32_t tid = 0; tid < kernels::kBlock; ++tid) {
        total += kernels::ScanChunkShare(plan.chunks[ci], tid, kernels::kBlock);
      }
      sums[ci] = total.value();
    }
    for (const kernels::ScanSegment& seg : plan.segments) {
      kernels::ScanSegmentOffsets(seg, sums.data());
    }
    for (size_t ci = 0; ci < plan.chunks.size(); ++ci) {
      const kernels::ScanChunk& c = plan.chunks[ci];
      Fp items[kernels::kBlock][kernels::kScanItems];
      for (uint32_t tid = 0; tid < kernels::kBlock; ++tid)
        kernels::ScanChunkLoad(c, tid, items[tid]);
      Fp acc = Fp::Zero();  // the block's exclusive scan over the blocked arrangement
      for (uint32_t tid = 0; tid < kernels::kBlock; ++tid) {
        for (uint32_t k = 0; k < kernels::kScanItems; ++k) {
          const Fp v = items[tid][k];
          items[tid][k] = acc;
          acc += v;
        }
      }
      for (uint32_t tid = 0; tid < kernels::kBlock; ++tid) {
        kernels::ScanChunkStore(c, plan.segments[c.segment], Fp::FromCanonical(sums[ci]), tid,
                                items[tid]);
      }
    }
    if (bad == ~uint64_t{0}) return std::make_pair(-1, uint64_t{0});
    return std::make_pair(int(bad >> 40), bad & ((uint64_t{1} << 40) - 1));
  }

  // As the kernel: a grid of kEmulatedProgramThreads threads over every table's point
  // threads (PointsOfThread; kernels/thread_bodies.h), registers in the GPU's layout.
  absl::Status Quotients(std::span<const QuotientTable> tables) override {
    ++stats_.launches;
    const QuotientPlan plan = PlanQuotients(tables);
    const uint32_t T = uint32_t(tables.size());
    ProgramGrid(plan.prefix, T, plan.base_regs, plan.ext_regs,
                [&](uint32_t table, uint64_t thread, const RegisterFile& regs) {
                  kernels::QuotientPoints(tables[table], thread, regs);
                });
    return absl::OkStatus();
  }

  absl::StatusOr<bool> AllZero(std::span<const uint64_t* const> cols, uint64_t begin,
                               uint64_t end) override {
    ++stats_.launches;
    for (const uint64_t* c : cols) {
      for (uint64_t i = begin; i < end; ++i) {
        if (c[i] != 0) return false;
      }
    }
    return true;
  }

  absl::StatusOr<std::vector<Fp3>> EvalPolys(std::span<const PolyEval> polys) override {
    stats_.launches += 2;
    std::vector<Fp3> out;
    constexpr uint64_t kChunk = 256;  // the device's per-thread chunk
    for (const PolyEval& e : polys) {
      Fp3 acc = Fp3::Zero();
      for (uint64_t b = 0; b < e.len; b += kChunk)
        acc += kernels::EvalChunk(e.coeffs, b, std::min(e.len, b + kChunk), e.point);
      out.push_back(acc);
    }
    return out;
  }

  // As the kernel: tables that share a target are summed by one thread per set of points,
  // table after table (kernels/thread_bodies.h).
  absl::Status Deep(std::span<const kernels::DeepTable> tables, Fp lde_shift) override {
    ++stats_.launches;
    const DeepPlan plan = PlanDeep(tables);
    for (size_t t = 0; t < plan.targets.size(); ++t) {
      for (uint64_t g = plan.group_prefix[t]; g < plan.group_prefix[t + 1]; ++g) {
        kernels::DeepPoints(plan.tables.data(), plan.targets[t], g - plan.group_prefix[t],
                            lde_shift);
      }
    }
    return absl::OkStatus();
  }

  absl::Status FoldTwiddles(uint64_t* out, int log_m) override {
    ++stats_.launches;
    const uint64_t half = log_m == 0 ? 1 : uint64_t{1} << (log_m - 1);
    const Fp w_inv = Fp::RootOfUnity(log_m).Inverse();
    for (uint64_t c = 0; c < half; ++c)
      out[c] = w_inv.Pow(BitRev(c, log_m == 0 ? 0 : log_m - 1)).value();
    return absl::OkStatus();
  }

  absl::Status Fold(const FoldArgs& f) override {
    ++stats_.launches;
    const bool folded = kernels::WithFoldLogArity(f.log_a, [&](auto log_a) {
      for (uint64_t c = 0; c < f.groups; ++c) kernels::FoldPoint<decltype(log_a)::value>(f, c);
    });
    if (!folded) return absl::InternalError("emulated device: fold arity outside 2 to 16");
    return absl::OkStatus();
  }

  absl::Status Gather(std::span<const uint64_t* const> addresses, uint64_t* host_out) override {
    ++stats_.launches;
    for (size_t i = 0; i < addresses.size(); ++i) host_out[i] = *addresses[i];
    stats_.bytes_to_host += 8 * addresses.size();
    return absl::OkStatus();
  }

  DeviceStats stats() const override { return stats_; }

 private:
  static void BatchInvert(std::vector<Fp>& v) {
    std::vector<Fp> prefix(v.size());
    Fp acc = Fp::One();
    for (size_t i = 0; i < v.size(); ++i) {
      prefix[i] = acc;
      acc *= v[i];
    }
    Fp inv = acc.Inverse();
    for (size_t i = v.size(); i-- > 0;) {
      const Fp x = v[i];
      v[i] = inv * prefix[i];
      inv *= x;
    }
  }

  std::map<uint64_t*, uint64_t> live_;
  std::vector<std::unique_ptr<uint64_t[]>> arena_;
  std::vector<DeviceDomainCache::Lease> domain_leases_;
  DeviceStats stats_;
};

}  // namespace

std::unique_ptr<Device> MakeEmulatedDevice() { return std::make_unique<EmulatedDevice>(); }

std::unique_ptr<Backend> MakeEmulatedCudaBackend() {
  // The emulated device runs one thread at a time: one register set.
  return MakeDeviceBackend(
      "cuda-emulated",
      []() -> absl::StatusOr<std::unique_ptr<Device>> { return MakeEmulatedDevice(); },
      /*program_threads=*/1);
}

}  // namespace prover::backend::cuda
