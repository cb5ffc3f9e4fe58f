// prover-bench-primitives: the engine's primitive kernels (NTT, coset LDE, Keccak, Merkle).
//
// Names registered as the foundation issue asks: ntt/2^20x1, ntt/2^22x1, ntt/2^20x16,
// lde/2^20x16/blowup4, merkle/2^20x16, keccak256/1MiB, plus variants. Every benchmark
// runs on the current oneTBB arena (set --threads N to bound it, default: all cores) and
// the detected SIMD path (--simd portable|avx2|avx512 to force one). Inputs are seeded
// random field elements; buffers are allocated and touched once, outside the timed loop.
// JSON: --benchmark_out=FILE --benchmark_out_format=json.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "engine/base/aligned_buffer.h"
#include "engine/base/cpu_features.h"
#include "engine/base/scratch_pool.h"
#include "engine/hash/keccak.h"
#include "engine/hash/merkle.h"
#include "engine/poly/lde.h"
#include "engine/poly/ntt.h"
#include "engine/poly/ntt_kernels.h"

namespace prover {
namespace {

// Column-major matrix in an AlignedBuffer (huge pages), as the prover allocates them.
struct Matrix {
  AlignedBuffer<Fp> data;
  std::vector<Fp*> cols;
  std::vector<const Fp*> ccols;
  Matrix(size_t num_cols, size_t rows, uint64_t seed) : data(num_cols * rows) {
    std::mt19937_64 rng(seed);
    for (auto& x : data) x = Fp::FromCanonical(rng() >> 1);
    for (size_t c = 0; c < num_cols; ++c) {
      cols.push_back(data.data() + c * rows);
      ccols.push_back(data.data() + c * rows);
    }
  }
};

void BM_Ntt(benchmark::State& state, int log_n, size_t num_cols, Order out_order) {
  Matrix m(num_cols, size_t{1} << log_n, 1);
  for (auto _ : state) {
    // Transforming the previous output again costs exactly the same work.
    absl::Status s = ForwardNtt(m.cols, log_n, Order::kNatural, out_order);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(m.data.data());
  }
  state.SetItemsProcessed(state.iterations() * num_cols * (int64_t{1} << log_n));
  state.SetBytesProcessed(state.iterations() * num_cols * (int64_t{8} << log_n));
}

// Steady state (cold = false): the coefficient scratch is already in the ScratchPool, as in
// a running prover. Cold: the pool is emptied before every iteration, so each call also
// allocates and faults in its scratch, as the first LDE of a process does.
void BM_Lde(benchmark::State& state, int log_n, size_t num_cols, int log_blowup, bool cold) {
  Matrix in(num_cols, size_t{1} << log_n, 2);
  Matrix out(num_cols, size_t{1} << (log_n + log_blowup), 3);
  const Fp shift = Fp::FromCanonical(Fp::kMultiplicativeGenerator);
  if (!CosetLde(in.ccols, log_n, log_blowup, shift, out.cols).ok()) {  // warm-up
    state.SkipWithError("lde failed");
  }
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      ScratchPool::Global().Trim();
      state.ResumeTiming();
    }
    absl::Status s = CosetLde(in.ccols, log_n, log_blowup, shift, out.cols);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(out.data.data());
  }
  state.SetItemsProcessed(state.iterations() * num_cols * (int64_t{1} << (log_n + log_blowup)));
}

void BM_Merkle(benchmark::State& state, int log_rows, size_t num_cols) {
  Matrix m(num_cols, size_t{1} << log_rows, 4);
  for (auto _ : state) {
    auto tree = MerkleTree::Build(m.ccols, size_t{1} << log_rows);
    if (!tree.ok()) state.SkipWithError(std::string(tree.status().message()).c_str());
    benchmark::DoNotOptimize(tree->root());
  }
  state.SetItemsProcessed(state.iterations() * (int64_t{1} << log_rows));
  state.SetBytesProcessed(state.iterations() * num_cols * (int64_t{8} << log_rows));
}

void BM_Keccak1MiB(benchmark::State& state) {
  std::vector<uint8_t> msg(1 << 20);
  std::mt19937_64 rng(5);
  for (auto& b : msg) b = static_cast<uint8_t>(rng());
  for (auto _ : state) benchmark::DoNotOptimize(Keccak256(msg));
  state.SetBytesProcessed(state.iterations() * int64_t{1 << 20});
}

// Keccak-256 of many independent 64-byte messages (Merkle internal nodes): hashes/s.
void BM_KeccakBatch64(benchmark::State& state) {
  const size_t count = 1 << 16;
  std::vector<uint8_t> msgs(64 * count, 0x5a);
  std::vector<Digest> out(count);
  for (auto _ : state) {
    Keccak256Batch(msgs.data(), 64, 64, count, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * count);
}

// Packed add + sub + mul over 2048 elements (in L1) with the active SIMD path: the cost of
// the arithmetic itself. Items are elements.
void BM_FieldElementwise(benchmark::State& state) {
  const size_t n = 2048;
  Matrix m(5, n, 6);
  const auto& k = ntt_internal::KernelsFor(ActiveSimdLevel());
  for (auto _ : state) {
    k.elementwise(m.cols[0], m.cols[1], n, m.cols[2], m.cols[3], m.cols[4]);
    benchmark::DoNotOptimize(m.data.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void RegisterAll() {
  benchmark::RegisterBenchmark("field/add_sub_mul_x2048", BM_FieldElementwise);
  auto unit = benchmark::kMillisecond;
  benchmark::RegisterBenchmark("ntt/2^20x1", BM_Ntt, 20, 1, Order::kBitReversed)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ntt/2^12x256", BM_Ntt, 12, 256, Order::kBitReversed)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ntt/2^22x1", BM_Ntt, 22, 1, Order::kBitReversed)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ntt/2^20x16", BM_Ntt, 20, 16, Order::kBitReversed)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ntt/2^20x16/natural", BM_Ntt, 20, 16, Order::kNatural)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("lde/2^20x16/blowup4", BM_Lde, 20, 16, 2, false)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("lde/2^20x16/blowup4/cold", BM_Lde, 20, 16, 2, true)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("lde/2^16x16/blowup8", BM_Lde, 16, 16, 3, false)
      ->Unit(unit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("merkle/2^20x16", BM_Merkle, 20, 16)->Unit(unit)->UseRealTime();
  benchmark::RegisterBenchmark("merkle/2^16x100", BM_Merkle, 16, 100)->Unit(unit)->UseRealTime();
  benchmark::RegisterBenchmark("keccak256/1MiB", BM_Keccak1MiB)->Unit(unit)->UseRealTime();
  benchmark::RegisterBenchmark("keccak256/batch64Bx65536", BM_KeccakBatch64)
      ->Unit(unit)
      ->UseRealTime();
}

}  // namespace
}  // namespace prover

int main(int argc, char** argv) {
  return prover::bench::RunBenchmarkMain(
      argc, argv,
      [](const char* arg) {
        if (std::strncmp(arg, "--simd=", 7) != 0) return false;
        const std::string name = arg + 7;
        prover::SetSimdLevel(name == "portable" ? prover::SimdLevel::kPortable
                             : name == "avx2"   ? prover::SimdLevel::kAvx2
                                                : prover::SimdLevel::kAvx512);
        return true;
      },
      [] {
        benchmark::AddCustomContext("simd",
                                    std::string(prover::SimdLevelName(prover::ActiveSimdLevel())));
        prover::RegisterAll();
      });
}
