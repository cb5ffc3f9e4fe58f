#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds, and runs the
# main job. Until the proving service exists, the main job is the primitives benchmark
# (NTT, coset LDE, Keccak Merkle tree) with its JSON written to build/bench-primitives.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/bin/prover-bench-primitives --benchmark_out=build/bench-primitives.json \
  --benchmark_out_format=json "$@"
