#!/usr/bin/env bash
# The cluster soak (docs/OPERATIONS.md, "A cluster"): three proverd nodes on a private
# PostgreSQL server, clients submitting to every node while random nodes are killed (-9) and
# started again. Passes when every acknowledged job SUCCEEDED, each extra attempt follows a
# requeue the nodes logged, and sample proofs verify. CI runs a short version of the same
# test (64 clients x 20 jobs, 3 kills); this runs the long one.
#
#   scripts/cluster-soak.sh [CLIENTS [JOBS [KILLS]]]     default 64 x 20 jobs, 100 kills
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/prover_cluster_test ] || bash scripts/build.sh
pg_dir="$(mktemp -d)"
trap 'bash scripts/pg-test-server.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
PROVER_TEST_POSTGRES="$(bash scripts/pg-test-server.sh start "$pg_dir")"
export PROVER_TEST_POSTGRES
export PROVER_SOAK_CLIENTS="${1:-64}" PROVER_SOAK_JOBS="${2:-20}" PROVER_SOAK_KILLS="${3:-100}"
build/bin/prover_cluster_test --gtest_filter='ClusterTest.LoadWithNodesKilledLosesNothing' 2>&1 |
  grep -v '^{'
