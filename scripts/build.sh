#!/usr/bin/env bash
# Installs what is missing and builds everything into build/ (binaries in build/bin/).
# PROVER_CUDA=AUTO|ON|OFF (default AUTO) and PROVER_BUILD_TYPE (default Release) may be set
# in the environment; PROVER_JOBS overrides the parallelism (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
: "${PROVER_CUDA:=AUTO}"
: "${PROVER_BUILD_TYPE:=Release}"
: "${PROVER_JOBS:=$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
cmake -S . -B build -G Ninja -DPROVER_CUDA="$PROVER_CUDA" -DCMAKE_BUILD_TYPE="$PROVER_BUILD_TYPE" >/dev/null
cmake --build build -j "$PROVER_JOBS"
