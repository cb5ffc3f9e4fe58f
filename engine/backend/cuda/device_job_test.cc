// The CUDA engine's algorithm on the emulated device, against the CPU engine: the engine
// contract suite, plus unit tests of the shared kernel bodies (Keccak lanes, NTT passes,
// the bytecode compiler).
#include "engine/backend/cuda/device_job.h"

#include <random>

#include "engine/air/workloads/fibonacci.h"
#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/dag_eval.h"
#include "engine/backend/cuda/domain_cache.h"
#include "engine/backend/cuda/host_runtime.h"
#include "engine/backend/cuda/program_compiler.h"
#include "engine/base/failure.h"
#include "engine/hash/keccak.h"
#include "engine/poly/ntt.h"
#include "engine/testing/backend_contract.h"
#include "engine/testing/wrapped_backend.h"
#include "gtest/gtest.h"
#include "kernels/bodies.h"

namespace prover::testing {

INSTANTIATE_TEST_SUITE_P(
    Engines, BackendContract,
    ::testing::Values(BackendUnderTest{"cpu", [] { return backend::MakeCpuBackend(); }, 12},
                      BackendUnderTest{"cuda-emulated",
                                       [] { return backend::cuda::MakeEmulatedCudaBackend(); },
                                       12}),
    [](const ::testing::TestParamInfo<BackendUnderTest>& info) {
      return info.index == 0 ? std::string("Cpu") : std::string("CudaEmulated");
    });

// A backend whose jobs note the runtime's call count when their destruction begins: the
// calls after it are the job's closing ones (its buffers and stream given back).
class ClosingMarkBackend final : public backend::Backend {
 public:
  ClosingMarkBackend(backend::Backend& inner, const backend::cuda::HostRuntime& runtime)
      : inner_(inner), runtime_(runtime) {}
  std::string_view name() const override { return inner_.name(); }
  absl::StatusOr<std::unique_ptr<backend::ProvingJob>> StartJob(
      const backend::JobSpec& spec) override {
    auto job = inner_.StartJob(spec);
    if (!job.ok()) return job.status();
    return std::unique_ptr<backend::ProvingJob>(new Job(*std::move(job), this));
  }
  uint64_t EstimatePeakBytes(const backend::JobSpec& spec) const override {
    return inner_.EstimatePeakBytes(spec);
  }
  uint64_t closing_from() const { return closing_from_; }

 private:
  class Job final : public ForwardingJob {
   public:
    Job(std::unique_ptr<backend::ProvingJob> inner, ClosingMarkBackend* owner)
        : ForwardingJob(std::move(inner)), owner_(owner) {}
    ~Job() override { owner_->closing_from_ = owner_->runtime_.calls(); }

   private:
    ClosingMarkBackend* owner_;
  };
  backend::Backend& inner_;
  const backend::cuda::HostRuntime& runtime_;
  uint64_t closing_from_ = 0;
};

// Every CUDA call of a job failed in turn, by the host runtime under the CUDA engine's own
// device (cuda_device.cc): a job whose call fails fails with that error's kind, naming it
// (never a wrong proof, never a crash), unless the call was a release, which the engine
// clears and goes on from; the job gives back its budget, buffers, streams and events; after
// an error that is not sticky the next job on the same engine proves, byte-identical to the
// CPU engine (no stale error fails it); after a sticky one every later call fails, and so
// does the next job, as kDeviceLost.
TEST(CudaEngineFaults, EveryFailingCudaCallFailsOnlyItsJobAndReleasesEverything) {
  using namespace backend::cuda;
  RandomAirOptions o;
  o.seed = 7;
  o.num_tables = 2;  // a table sending into a lookup table: round 2 runs too
  o.num_lookup_tables = 1;
  o.min_log_rows = 3;
  o.max_log_rows = 5;
  const air::WorkloadInstance w = RandomAir(o);
  auto cpu = backend::MakeCpuBackend();
  auto want = stark::Prove(*cpu, w.air, w.trace, w.public_inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  const std::vector<uint8_t> want_bytes = stark::EncodeProof(want->proof);
  stark::ProveOptions opts;
  opts.trace_check = stark::TraceCheck::kOff;  // the failure itself, not a checker report

  // An engine with its domains built by a first job: what it holds between jobs.
  std::shared_ptr<HostRuntime> runtime;
  std::unique_ptr<CudaBackend> gpu;
  HostRuntime::Held idle;
  auto fresh_engine = [&] {
    gpu = MakeEmulatedCudaBackend(&runtime);
    auto warm = stark::Prove(*gpu, w.air, w.trace, w.public_inputs, opts);
    ASSERT_TRUE(warm.ok()) << warm.status();
    ASSERT_EQ(stark::EncodeProof(warm->proof), want_bytes);
    idle = runtime->held();
  };
  fresh_engine();
  const uint64_t first = runtime->calls();
  ClosingMarkBackend marked(*gpu, *runtime);
  auto clean = stark::Prove(marked, w.air, w.trace, w.public_inputs, opts);
  ASSERT_TRUE(clean.ok()) << clean.status();
  const uint64_t calls = runtime->calls() - first;
  const uint64_t closing_from = marked.closing_from() - first;  // calls after it close the job
  ASSERT_GT(calls, 100u);
  ASSERT_LT(closing_from, calls);
  const GpuStats s0 = gpu->stats();
  EXPECT_EQ(s0.memory_in_use, s0.domain_cache_bytes) << "only the domains stay in the budget";

  const RtError errors[] = {rt::kMemoryAllocation, rt::kInvalidValue, rt::kIllegalAddress};
  uint64_t proved = 0;
  for (uint64_t n = 1; n <= calls; ++n) {
    const RtError error = errors[n % 3];
    const FailureKind kind = CudaErrorKind(error);
    SCOPED_TRACE(::testing::Message()
                 << "call " << n << " of " << calls << " fails with " << runtime->ErrorName(error));
    runtime->FailCall(n, error);
    auto failed = stark::Prove(*gpu, w.air, w.trace, w.public_inputs, opts);
    ASSERT_TRUE(runtime->injected());
    const std::string call = runtime->injected_call();
    SCOPED_TRACE(call);
    if (failed.ok()) {
      // A failed release is cleared and the job goes on; any other call that fails without
      // failing the proof is one of the job's closing calls, after its last result.
      EXPECT_EQ(stark::EncodeProof(failed->proof), want_bytes);
      ++proved;
      if (call != "cudaFreeAsync") EXPECT_GT(n, closing_from);
    } else {
      EXPECT_EQ(ClassifyFailure(failed.status()), kind) << failed.status();
      EXPECT_NE(failed.status().message().find(runtime->ErrorName(error)), std::string::npos)
          << failed.status();
      // A sticky error is reported by whichever call meets it first; any other by its own.
      if (kind != FailureKind::kDeviceLost) {
        EXPECT_NE(failed.status().message().find(call), std::string::npos) << failed.status();
      }
    }
    const GpuStats s = gpu->stats();
    EXPECT_EQ(s.memory_in_use, s.domain_cache_bytes) << "the job's budget is returned";
    EXPECT_EQ(s.streams_busy, 0);
    if (kind == FailureKind::kDeviceLost) {
      // Every later call fails: so does the next job, as a lost device.
      auto next = stark::Prove(*gpu, w.air, w.trace, w.public_inputs, opts);
      ASSERT_FALSE(next.ok());
      EXPECT_EQ(ClassifyFailure(next.status()), FailureKind::kDeviceLost) << next.status();
      fresh_engine();
      continue;
    }
    const HostRuntime::Held held = runtime->held();
    // A failed cudaFreeAsync keeps its allocation (the job's budget is returned regardless).
    EXPECT_EQ(held.device_allocations, idle.device_allocations + (call == "cudaFreeAsync"));
    EXPECT_EQ(held.streams, idle.streams);
    EXPECT_EQ(held.events, idle.events);
    EXPECT_EQ(held.pinned_bytes, idle.pinned_bytes);
    auto next = stark::Prove(*gpu, w.air, w.trace, w.public_inputs, opts);
    ASSERT_TRUE(next.ok()) << "the next job on the engine: " << next.status();
    EXPECT_EQ(stark::EncodeProof(next->proof), want_bytes);
    if (call == "cudaFreeAsync") idle = runtime->held();
  }
  EXPECT_LT(proved, calls / 4) << "most failures fail their job";
}

// The CUDA engine's start-up with each of its CUDA calls failed in turn: it fails, naming
// the error, and gives back every stream, event and pinned buffer it had taken.
TEST(CudaEngineFaults, AFailedStartUpReleasesWhatItTook) {
  using namespace backend::cuda;
  uint64_t calls = 0;
  {
    auto runtime = std::make_shared<HostRuntime>();
    auto gpu = MakeRuntimeBackend(runtime, 0, EmulatedGpuOptions());
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    calls = runtime->calls();
  }
  ASSERT_GT(calls, 8u);
  for (uint64_t n = 1; n <= calls; ++n) {
    SCOPED_TRACE(::testing::Message() << "call " << n << " of " << calls);
    auto runtime = std::make_shared<HostRuntime>();
    runtime->FailCall(n, rt::kMemoryAllocation);
    auto gpu = MakeRuntimeBackend(runtime, 0, EmulatedGpuOptions());
    ASSERT_FALSE(gpu.ok());
    EXPECT_EQ(gpu.status().code(), absl::StatusCode::kResourceExhausted) << gpu.status();
    EXPECT_NE(gpu.status().message().find(runtime->injected_call()), std::string::npos)
        << gpu.status();
    const HostRuntime::Held held = runtime->held();
    EXPECT_EQ(held.streams, 0u);
    EXPECT_EQ(held.events, 0u);
    EXPECT_EQ(held.pinned_bytes, 0u);
    EXPECT_EQ(held.device_allocations, 0u);
  }
}

// A trace upload larger than both staging buffers crosses them in turn (first in, first
// out), so that one fills while the other's copy is in flight.
TEST(CudaDevice, UploadsAlternateBetweenTheStagingBuffers) {
  using namespace backend::cuda;
  std::shared_ptr<HostRuntime> runtime;
  auto gpu = MakeEmulatedCudaBackend(&runtime);  // 256 KiB buffers
  auto device = gpu->NewDevice();
  ASSERT_TRUE(device.ok()) << device.status();
  const uint64_t words = 5 * (uint64_t{256} << 10) / 8 + 3;  // 5 buffers' worth and a bit
  std::vector<uint64_t> host(words);
  for (uint64_t i = 0; i < words; ++i) host[i] = i * 0x9e3779b97f4a7c15ull;
  auto dst = (*device)->Alloc(words);
  ASSERT_TRUE(dst.ok()) << dst.status();
  ASSERT_TRUE((*device)->Upload(*dst, host.data(), words).ok());
  std::vector<uint64_t> back(words);
  ASSERT_TRUE((*device)->Download(back.data(), *dst, words).ok());
  EXPECT_EQ(back, host);
  EXPECT_EQ(runtime->copies_from_pinned(), (std::vector<uint64_t>{3, 3}));
}

// Jobs of many shapes on an engine whose budget holds only some of their domains: idle
// domains are evicted for the jobs' memory, and the pool (which keeps what it freed, for
// jobs and domains alike) never holds more than the budget.
TEST(CudaDevice, ThePoolStaysWithinTheBudgetAcrossJobsAndDomains) {
  using namespace backend::cuda;
  auto cpu = backend::MakeCpuBackend();
  GpuOptions options = EmulatedGpuOptions();
  options.memory_budget = uint64_t{3} << 20;  // 3 MiB
  std::shared_ptr<HostRuntime> runtime;
  auto gpu = MakeEmulatedCudaBackend(&runtime, options);
  int proved = 0;
  for (uint32_t log_rows = 6; log_rows <= 12; ++log_rows) {
    auto w = air::Fibonacci(log_rows);
    ASSERT_TRUE(w.ok()) << w.status();
    auto proof = stark::Prove(*gpu, w->air, w->trace, w->public_inputs);
    if (!proof.ok()) {
      // Past the budget: refused as such, nothing else.
      EXPECT_EQ(proof.status().code(), absl::StatusCode::kResourceExhausted) << proof.status();
      continue;
    }
    ++proved;
    auto want = stark::Prove(*cpu, w->air, w->trace, w->public_inputs);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(stark::EncodeProof(proof->proof), stark::EncodeProof(want->proof)) << log_rows;
    EXPECT_LE(runtime->held().pool_footprint, options.memory_budget) << log_rows;
    const GpuStats s = gpu->stats();
    EXPECT_EQ(s.memory_in_use, s.domain_cache_bytes) << log_rows;
    EXPECT_LE(s.memory_peak, options.memory_budget) << log_rows;
  }
  EXPECT_GE(proved, 4);
}

// The device domain cache over a fake device: a budget of bytes, counted builds and frees.
struct FakeDomainDevice {
  uint64_t budget = 0, used = 0;
  int builds = 0, frees = 0;
  bool fail_next_build = false;
  backend::cuda::DeviceDomainCache::Hooks Hooks() {
    return {[this](uint64_t b) {
              if (used + b > budget) return false;
              used += b;
              return true;
            },
            [this](uint64_t b) { used -= b; },
            [this](int log_n, int log_blowup,
                   Fp shift) -> absl::StatusOr<backend::cuda::DeviceDomainCache::Storage> {
              if (fail_next_build) {
                fail_next_build = false;
                return absl::InternalError("cuda: the build failed");
              }
              ++builds;
              backend::cuda::DeviceDomainCache::Storage st;
              st.memory = new char[1];
              st.view.log_n = log_n;
              st.view.log_N = log_n + log_blowup;
              st.view.shift = shift;
              return st;
            },
            [this](void* m) {
              ++frees;
              delete[] static_cast<char*>(m);
            }};
  }
};

TEST(DeviceDomainCache, SharesEvictsIdleDomainsAndStaysWithinTheBudget) {
  using backend::cuda::DeviceDomainCache;
  const Fp g = Fp::FromU64(7);
  const uint64_t one = DeviceDomainCache::DomainBytes(10, 3);  // 2^13 points
  FakeDomainDevice dev;
  dev.budget = 2 * one;
  {
    DeviceDomainCache cache(dev.Hooks());
    auto a = cache.Get(10, 3, g);
    auto a2 = cache.Get(10, 3, g);
    ASSERT_TRUE(a.ok() && a2.ok());
    EXPECT_EQ(a->get(), a2->get()) << "one entry per (log n, log blowup, offset)";
    EXPECT_EQ(dev.builds, 1);
    auto b = cache.Get(10, 3, Fp::FromU64(5));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(dev.used, 2 * one);
    EXPECT_EQ(cache.bytes(), 2 * one);
    // Both in use: a third cannot be built, and nothing is lost.
    auto c = cache.Get(10, 3, Fp::FromU64(3));
    EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted) << c.status();
    EXPECT_EQ(FailureKindOf(c.status()), FailureKind::kResources);
    EXPECT_EQ(dev.used, 2 * one);
    EXPECT_EQ(cache.Evict(one), 0u) << "a leased domain is never freed";
    // Release the first domain's leases: it is idle, and gives way to the third.
    *a = DeviceDomainCache::Lease();
    *a2 = DeviceDomainCache::Lease();
    c = cache.Get(10, 3, Fp::FromU64(3));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(dev.frees, 1);
    EXPECT_EQ(dev.used, 2 * one);
    EXPECT_EQ(cache.entries(), 2u);
    // A job's allocation takes idle domains' bytes (least recently used first).
    *b = DeviceDomainCache::Lease();
    EXPECT_EQ(cache.Evict(1), one);
    EXPECT_EQ(dev.used, one);
    EXPECT_EQ(cache.entries(), 1u);
    // A failed build returns its budget.
    dev.fail_next_build = true;
    auto d = cache.Get(11, 3, g);
    EXPECT_FALSE(d.ok());
    EXPECT_EQ(dev.used, one);
  }
  EXPECT_EQ(dev.used, 0u) << "the cache returns its budget when it goes";
  EXPECT_EQ(dev.frees, dev.builds);
}

// The device estimate holds the constraint programs' register scratch for the device's
// threads: the widest round's compiled programs times the threads, where a fixed 96 MiB
// stood before (less than zkvm's quotient scratch alone on a 132-SM GPU).
TEST(CudaEngineEstimate, HoldsTheProgramScratchOfTheDevicesThreads) {
  auto w = air::Zkvm(12, 0);
  ASSERT_TRUE(w.ok()) << w.status();
  const backend::JobSpec spec = SpecOf(*w, /*log_blowup=*/3);
  const uint64_t per_thread = backend::cuda::ProgramScratchBytes(spec, 1);
  // At least every table's quotient program, compiled here with other challenge values.
  for (const air::Table& table : w->air.tables) {
    backend::cuda::ProgramRequest req;
    const std::vector<Fp3> gamma(table.constraints.size(), Fp3(Fp::FromU64(5)));
    const std::vector<Fp3> challenges = {Fp3(Fp::FromU64(7)), Fp3(Fp::FromU64(11))};
    req.constraints = true;
    req.gamma_pows = gamma;
    req.fingerprints = !table.interactions.empty();
    req.alpha = challenges[0];
    req.beta = challenges[1];
    req.public_inputs = w->public_inputs;
    req.challenges = challenges;
    const backend::cuda::CompiledProgram p = backend::cuda::CompileTableProgram(table, req);
    EXPECT_GE(per_thread, 8 * (uint64_t{p.num_base_regs} + 3 * uint64_t{p.num_ext_regs}))
        << table.name;
  }
  const uint64_t gpu_threads = uint64_t{132} * 8 * 128;
  EXPECT_EQ(backend::cuda::ProgramScratchBytes(spec, gpu_threads), gpu_threads * per_thread);
  EXPECT_EQ(backend::cuda::EstimateDeviceJobBytes(spec, gpu_threads) -
                backend::cuda::EstimateDeviceJobBytes(spec, 1),
            (gpu_threads - 1) * per_thread);
  EXPECT_GT(gpu_threads * per_thread, uint64_t{96} << 20);
}

// An AIR beyond the CUDA engine's 8 quotient parts (degree 10, valid at blowup 16) is this
// engine's limit, not the input's fault: refused as a bug, which the service reruns on the
// CPU engine, and the CPU engine proves it.
TEST(CudaEngineLimits, MoreQuotientPartsThanTheKernelsHoldIsNotInvalidInput) {
  RandomAirOptions o;
  o.seed = 99;
  o.num_tables = 1;
  o.num_lookup_tables = 0;
  o.max_degree = 10;
  o.max_log_rows = 4;
  const air::WorkloadInstance w = RandomAir(o);
  const backend::JobSpec spec = SpecOf(w, /*log_blowup=*/4);
  auto gpu = backend::cuda::MakeEmulatedCudaBackend();
  const absl::Status refused = gpu->StartJob(spec).status();
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(FailureKindOf(refused), FailureKind::kBug) << refused;
  EXPECT_TRUE(backend::MakeCpuBackend()->StartJob(spec).ok());
}

}  // namespace prover::testing

namespace prover::backend::cuda {
namespace {

TEST(KeccakBody, LeavesAndNodesMatchTheHostHasher) {
  std::mt19937_64 rng(0x5eed0501);
  for (uint32_t width : {1u, 2u, 15u, 16u, 17u, 18u, 33u, 34u, 35u, 100u}) {
    std::vector<uint64_t> row(width);
    std::vector<Fp> fps(width);
    for (uint32_t c = 0; c < width; ++c) {
      fps[c] = Fp::FromU64(rng());
      row[c] = fps[c].value();
    }
    uint64_t lanes[4];
    kernels::HashRowLeaf(row.data(), width, 1, true, 0, lanes);
    const Digest want = HashRow(fps);
    EXPECT_EQ(std::memcmp(lanes, want.data(), 32), 0) << "width " << width;
    // The same row as row 2 of a column-major matrix of 3 rows.
    std::vector<uint64_t> matrix(3 * width, ~uint64_t{0});
    for (uint32_t c = 0; c < width; ++c) matrix[c * 3 + 2] = row[c];
    kernels::HashRowLeaf(matrix.data(), width, 3, false, 2, lanes);
    EXPECT_EQ(std::memcmp(lanes, want.data(), 32), 0) << "column-major, width " << width;
  }
  // Node 1's children are nodes 2 and 3 (lanes 8..15); it is written to lanes 4..7.
  uint64_t nodes[16] = {};
  for (int i = 8; i < 16; ++i) nodes[i] = rng();
  kernels::HashNode(nodes, 1);
  const Digest want =
      Keccak256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(nodes + 8), 64));
  EXPECT_EQ(std::memcmp(nodes + 4, want.data(), 32), 0);
}

// The pass plan covers every stage exactly once, tiles cover every index exactly once.
TEST(NttBody, PlansCoverEveryStageAndIndex) {
  for (int log_n = 1; log_n <= 28; ++log_n) {
    kernels::NttPass passes[8];
    const int count = kernels::PlanNtt(log_n, passes);
    int stage = 0;
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(passes[i].s0, stage) << log_n;
      EXPECT_GE(passes[i].stages, 1);
      EXPECT_LE(passes[i].stages + passes[i].log_lanes, kernels::kNttTileBits);
      stage += passes[i].stages;
      if (log_n <= 14) {
        std::vector<int> seen(size_t{1} << log_n, 0);
        for (uint64_t t = 0; t < passes[i].tiles(); ++t) {
          for (uint64_t e = 0; e < passes[i].tile_elems(); ++e)
            ++seen[kernels::NttTileIndex(passes[i], t, e)];
        }
        for (int s : seen) ASSERT_EQ(s, 1) << "log_n " << log_n << " pass " << i;
      }
    }
    EXPECT_EQ(stage, log_n);
  }
}

// The emulated device's NTT (the kernels' passes) against the CPU NTT, forward and inverse.
TEST(NttBody, MatchesTheCpuNtt) {
  auto backend = MakeEmulatedCudaBackend();
  auto device = backend->NewDevice();
  ASSERT_TRUE(device.ok()) << device.status();
  Device* dev = device->get();
  std::mt19937_64 rng(0x5eed0502);
  for (int log_n : {1, 2, 5, 11, 12, 13, 16, 19}) {
    auto domain = dev->Domain(log_n, 1, Fp::FromU64(7));
    ASSERT_TRUE(domain.ok());
    const uint64_t n = uint64_t{1} << log_n;
    std::vector<Fp> host(n);
    for (Fp& v : host) v = Fp::FromU64(rng());
    for (bool inverse : {false, true}) {
      auto buf = dev->Alloc(n);
      ASSERT_TRUE(buf.ok());
      std::memcpy(*buf, host.data(), 8 * n);
      uint64_t* cols[] = {*buf};
      ASSERT_TRUE(dev->Ntt(cols, log_n, **domain, inverse).ok());
      std::vector<Fp> want = host;
      Fp* wcols[] = {want.data()};
      if (inverse) {
        ASSERT_TRUE(InverseNtt(wcols, log_n, Order::kNatural, Order::kBitReversed).ok());
        const Fp scale = Fp::FromU64(n);  // the device leaves 1/n to the caller
        for (Fp& v : want) v *= scale;
      } else {
        ASSERT_TRUE(ForwardNtt(wcols, log_n, Order::kNatural, Order::kBitReversed).ok());
      }
      for (uint64_t i = 0; i < n; ++i)
        ASSERT_EQ((*buf)[i], want[i].value())
            << "log_n " << log_n << " inverse " << inverse << " i " << i;
      dev->Free(*buf);
    }
  }
}

// The bytecode reuses registers: the zkvm's tables need far fewer registers than nodes,
// and the program computes the same constraint sums as the CPU evaluator.
TEST(ProgramCompiler, ReusesRegistersAndMatchesTheCpuEvaluator) {
  auto w = air::Zkvm(10, 1);
  ASSERT_TRUE(w.ok()) << w.status();
  std::mt19937_64 rng(0x5eed0503);
  const std::vector<Fp3> challenges = {
      Fp3(Fp::FromU64(rng()), Fp::FromU64(rng()), Fp::FromU64(rng())),
      Fp3(Fp::FromU64(rng()), Fp::FromU64(rng()), Fp::FromU64(rng()))};
  for (const air::Table& table : w->air.tables) {
    std::vector<Fp3> gpow(table.constraints.size());
    for (Fp3& g : gpow) g = Fp3(Fp::FromU64(rng()), Fp::FromU64(rng()), Fp::FromU64(rng()));
    ProgramRequest req;
    req.constraints = true;
    req.gamma_pows = gpow;
    req.public_inputs = w->public_inputs;
    req.challenges = challenges;
    const CompiledProgram p = CompileTableProgram(table, req);
    EXPECT_LT(p.num_base_regs + p.num_ext_regs, table.exprs.size() + 8) << table.name;
    // Random column values at one point; the CPU evaluator's sums by kind.
    std::vector<Fp> cur(table.num_columns), nxt(table.num_columns);
    for (Fp& v : cur) v = Fp::FromU64(rng());
    for (Fp& v : nxt) v = Fp::FromU64(rng());
    std::vector<uint32_t> roots;
    for (const air::Constraint& c : table.constraints) roots.push_back(c.expr);
    cpu::DagEvaluator ev(table, roots, w->public_inputs, challenges);
    std::vector<const Fp*> cp(table.num_columns), np(table.num_columns);
    for (uint32_t c = 0; c < table.num_columns; ++c) {
      cp[c] = &cur[c];
      np[c] = &nxt[c];
    }
    ev.Evaluate(cp, np, 1);
    Fp3 want[4] = {};
    for (size_t k = 0; k < table.constraints.size(); ++k) {
      const uint32_t e = table.constraints[k].expr;
      const Fp3 v = ev.is_ext(e) ? ev.ext(e)[0] : Fp3(ev.base(e)[0]);
      want[int(table.constraints[k].kind)] += gpow[k] * v;
    }
    std::vector<Fp> base(p.num_base_regs);
    std::vector<Fp3> ext(p.num_ext_regs);
    const kernels::ProgramView view{p.code.data(),  uint32_t(p.code.size()), p.num_base_regs,
                                    p.num_ext_regs, p.base_pool.data(),      p.ext_pool.data()};
    kernels::RunProgram(view, kernels::RegisterFile{base.data(), ext.data(), 1},
                        [&](uint32_t col, uint32_t off) { return off ? nxt[col] : cur[col]; });
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(ext[p.acc_reg[k]], want[k]) << table.name << " kind " << k;
  }
}

}  // namespace
}  // namespace prover::backend::cuda
