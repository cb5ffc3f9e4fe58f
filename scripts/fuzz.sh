#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for a
# fixed time: request validation (SubmitProofRequest) and proof decoding/verification.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30; CI uses the default)
# Crashes are written to build-fuzz/crashes/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-30}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DPROVER_FUZZ=ON -DPROVER_CUDA=OFF \
  -DPROVER_BUILD_TESTS=OFF -DPROVER_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "${PROVER_JOBS:-$(nproc)}" --target prover_fuzz_proof prover_fuzz_request
mkdir -p build-fuzz/crashes
for target in proof request; do
  corpus="build-fuzz/corpus-$target"
  mkdir -p "$corpus"
  if ! PROVER_FUZZ_SEEDS="$corpus" "build-fuzz/bin/prover_fuzz_$target" -runs=0 "$corpus" \
       >build-fuzz/seed-$target.log 2>&1; then
    echo "fuzz: $target fails on its seeds:" >&2
    tail -20 "build-fuzz/seed-$target.log" >&2
    exit 1
  fi
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  "build-fuzz/bin/prover_fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 \
    -max_len=200000 -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 "$corpus" 2>&1 \
    | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY)" || true
  if ls build-fuzz/crashes/ | grep -q .; then
    echo "fuzz: $target found a crash: $(ls build-fuzz/crashes/)" >&2
    exit 1
  fi
done
echo "fuzz: OK"
