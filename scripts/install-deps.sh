#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds and tests with.
# Idempotent: when every package is already installed it only runs dpkg-query
# (well under a second) and touches nothing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format
  # engine
  libtbb-dev libabsl-dev
  # service (gRPC, protobuf, metrics, durable store)
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  prometheus-cpp-dev libsqlite3-dev libssl-dev openssl
  # cluster mode's job database client (libpq); the server for its tests (pg-test-server.sh)
  libpq-dev postgresql
  # tests and benchmarks; the Python client (client/python) and its test
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-grpcio python3-protobuf
  # service tests: a real Prometheus scraping /metrics, clang's libFuzzer for the fuzz targets
  prometheus clang
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# A package list older than a day (or none at all) is refreshed first.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
  $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
