#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds, and runs the
# main job. Until the proving service exists, the main job is the whole-proof benchmark
# (fibonacci and zkvm proofs on the CPU engine, per-stage times, proof sizes, verification)
# with its JSON written to build/bench-prover.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/bin/prover-bench --benchmark_out=build/bench-prover.json \
  --benchmark_out_format=json "$@"
