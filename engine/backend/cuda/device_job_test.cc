// The CUDA engine's algorithm on the emulated device, against the CPU engine: the engine
// contract suite, plus unit tests of the shared kernel bodies (Keccak lanes, NTT passes,
// the bytecode compiler).
#include "engine/backend/cuda/device_job.h"

#include <random>

#include "engine/air/workloads/zkvm.h"
#include "engine/backend/cpu/dag_eval.h"
#include "engine/backend/cuda/domain_cache.h"
#include "engine/backend/cuda/emulated_device.h"
#include "engine/backend/cuda/fault_injection.h"
#include "engine/backend/cuda/program_compiler.h"
#include "engine/base/failure.h"
#include "engine/hash/keccak.h"
#include "engine/poly/ntt.h"
#include "engine/testing/backend_contract.h"
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

// Every Device call of a job failed in turn, the way the CUDA device reports a CUDA error
// (a failure kind on the status): the proof fails with that kind (never a wrong proof,
// never a crash), the job frees every buffer it allocated, and the next job on the same
// engine proves, byte-identical to the CPU engine.
TEST(CudaEngineFaults, EveryFailingDeviceCallFailsOnlyItsJobAndFreesItsBuffers) {
  using backend::cuda::FailNthCall;
  using backend::cuda::FaultLog;
  RandomAirOptions o;
  o.seed = 7;
  o.num_tables = 2;  // a table sending into a lookup table: round 2 runs too
  o.num_lookup_tables = 1;
  o.min_log_rows = 3;
  o.max_log_rows = 5;
  const air::WorkloadInstance w = RandomAir(o);
  auto backend_failing = [](uint64_t n, absl::Status failure, std::shared_ptr<FaultLog> log) {
    return backend::cuda::MakeDeviceBackend(
        "cuda-faulty",
        [=]() -> absl::StatusOr<std::unique_ptr<backend::cuda::Device>> {
          return FailNthCall(backend::cuda::MakeEmulatedDevice(), n, failure, log);
        },
        /*program_threads=*/1);
  };
  auto cpu = backend::MakeCpuBackend();
  auto want = stark::Prove(*cpu, w.air, w.trace, w.public_inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  const std::vector<uint8_t> want_bytes = stark::EncodeProof(want->proof);

  auto clean_log = std::make_shared<FaultLog>();
  auto clean = backend_failing(0, absl::OkStatus(), clean_log);
  auto proof = stark::Prove(*clean, w.air, w.trace, w.public_inputs);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(stark::EncodeProof(proof->proof), want_bytes);
  const uint64_t calls = clean_log->calls.load();
  ASSERT_GT(calls, 20u);
  EXPECT_EQ(clean_log->allocs.load(), clean_log->frees.load());

  for (uint64_t n = 1; n <= calls; ++n) {
    SCOPED_TRACE(::testing::Message() << "call " << n << " of " << calls);
    const FailureKind kind = n % 3 == 0   ? FailureKind::kResources
                             : n % 3 == 1 ? FailureKind::kDeviceFault
                                          : FailureKind::kDeviceLost;
    const absl::Status failure = WithFailureKind(
        kind == FailureKind::kResources ? absl::ResourceExhaustedError("cuda: injected")
                                        : absl::InternalError("cuda: injected"),
        kind);
    auto log = std::make_shared<FaultLog>();
    auto faulty = backend_failing(n, failure, log);
    stark::ProveOptions opts;
    opts.trace_check = stark::TraceCheck::kOff;  // the failure itself, not a checker report
    auto failed = stark::Prove(*faulty, w.air, w.trace, w.public_inputs, opts);
    ASSERT_TRUE(log->injected.load());
    EXPECT_EQ(log->allocs.load(), log->frees.load()) << "every buffer of the job is freed";
    if (n == calls) {
      // The last call is the job's closing Sync, after every result came back: the proof
      // stands (a sticky error there fails the engine's next call instead).
      ASSERT_TRUE(failed.ok()) << failed.status();
      EXPECT_EQ(stark::EncodeProof(failed->proof), want_bytes);
      continue;
    }
    ASSERT_FALSE(failed.ok()) << "a failed device call must fail the proof";
    EXPECT_EQ(ClassifyFailure(failed.status()), kind) << failed.status();
    EXPECT_NE(failed.status().message().find("injected"), std::string::npos) << failed.status();
  }
  auto again = stark::Prove(*clean, w.air, w.trace, w.public_inputs);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(stark::EncodeProof(again->proof), want_bytes);
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
  auto dev = MakeEmulatedDevice();
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
