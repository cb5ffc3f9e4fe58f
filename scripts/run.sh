#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds, and starts
# proverd on loopback with its embedded defaults: SQLite and local files under
# ./prover-data, the GPU engine when one answers, else the CPU engine. On the first start it
# makes an API key for the tenant "local" (prover-data/api-key, readable only by you).
# Extra arguments go to proverd (see `build/bin/proverd --help`). Ctrl-C drains and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
DATA="${PROVER_DATA_DIR:-prover-data}"
mkdir -p "$DATA"
if [ ! -s "$DATA/api-key" ]; then
  (umask 077 && openssl rand -hex 32 > "$DATA/api-key")
  printf 'local %s\n' "$(tr -d '\n' < "$DATA/api-key" | sha256sum | cut -d' ' -f1)" > "$DATA/api-keys.txt"
fi
cat >&2 <<MSG

proverd: gRPC on 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics, data in $DATA/
In another shell:
  export PROVER_SERVER=127.0.0.1:50051 PROVER_API_KEY=\$(cat $DATA/api-key)
  build/bin/prover submit --workload fibonacci --log-rows 16 --wait --out fib.proof
  build/bin/prover verify --workload fibonacci --log-rows 16 fib.proof

MSG
exec build/bin/proverd --listen 127.0.0.1:50051 --metrics-listen 127.0.0.1:9464 \
  --data-dir "$DATA" --api-keys "$DATA/api-keys.txt" "$@"
