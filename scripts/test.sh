#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds, runs every
# test (CTest, one test per GoogleTest case, the service integration tests, a real
# Prometheus, a real PostgreSQL), then the libFuzzer targets for 30 s each (scripts/fuzz.sh).
# GPU tests skip where no GPU answers.
#
# One private PostgreSQL server serves the whole run (scripts/pg-test-server.sh: initdb in a
# temporary directory as an unprivileged user, a loopback port; each test makes its own
# database), stopped at the end; tests that restart or kill it start their own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
pg_dir=$(mktemp -d /tmp/prover_pg_run.XXXXXX)
trap 'bash scripts/pg-test-server.sh stop "$pg_dir"' EXIT
PROVER_TEST_POSTGRES=$(bash scripts/pg-test-server.sh start "$pg_dir")
export PROVER_TEST_POSTGRES
(cd build && ctest --output-on-failure -j "${PROVER_JOBS:-$(nproc)}" "$@")
bash scripts/fuzz.sh 30
