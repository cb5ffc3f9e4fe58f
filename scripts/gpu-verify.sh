#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with build-gpu/carry carried there
# (scripts/build-gpu.sh). One batched run: the GPU's description, the kernel and engine
# contract tests (CUDA proofs byte-identical to the CPU engine's), the CPU-only parity
# suite for reference, then the whole-proof benchmarks on the CUDA engine and on the CPU
# engine of the same host. Results go to $OUT (or ./gpu-results): commit them under
# docs/benchmarks/ with the commit hash they measured.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-results}"
mkdir -p "$out"
carry=build-gpu/carry
export LD_LIBRARY_PATH="$PWD/$carry/lib:${LD_LIBRARY_PATH:-}"
{ nvidia-smi; nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv; \
  git rev-parse HEAD 2>/dev/null || cat .git-commit 2>/dev/null; } >"$out/gpu.txt" 2>&1
status=0
"$carry/bin/prover_kernels_test" --gtest_output="json:$out/kernels_test.json" >"$out/kernels_test.log" 2>&1 || status=1
"$carry/bin/prover_cuda_engine_test" --gtest_output="json:$out/cuda_engine_test.json" >"$out/cuda_engine_test.log" 2>&1 || status=1
tail -n 25 "$out/cuda_engine_test.log"
bench() {  # engine, output name, extra flags
  local engine=$1 name=$2; shift 2
  "$carry/bin/prover-bench" --engine="$engine" --benchmark_out="$out/$name.json" \
    --benchmark_out_format=json "$@" >"$out/$name.log" 2>&1 || status=1
  tail -n 12 "$out/$name.log"
}
bench cuda bench-cuda
PROVER_BENCH_LARGE=1 bench cpu bench-cpu --benchmark_filter='prove/(fibonacci/2\^22|zkvm/(16|18|20))'
exit $status
