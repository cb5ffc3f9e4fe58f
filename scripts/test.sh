#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds, runs every
# test (CTest, one test per GoogleTest case, the service integration tests, a real
# Prometheus), then the libFuzzer targets for 30 s each (scripts/fuzz.sh). GPU tests skip
# where no GPU answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j "${PROVER_JOBS:-$(nproc)}" "$@")
bash scripts/fuzz.sh 30
