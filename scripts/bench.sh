#!/usr/bin/env bash
# Builds and runs the benchmark binaries, writing Google Benchmark JSON into build/:
#   build/bench-prover.json   whole proofs on the CPU engine (fibonacci, zkvm), per stage
#   build/bench-service.json  proverd: durable submits per second, service overhead
# Arguments go to both binaries (e.g. --benchmark_filter=...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/bin/service-bench --benchmark_out=build/bench-service.json --benchmark_out_format=json "$@"
build/bin/prover-bench --benchmark_out=build/bench-prover.json --benchmark_out_format=json "$@"
