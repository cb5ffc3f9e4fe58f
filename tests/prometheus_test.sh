#!/usr/bin/env bash
# A real Prometheus server (Debian's `prometheus`) scrapes proverd's /metrics while jobs
# run; the job counters it stores must move, and every series the dashboard needs exists.
set -euo pipefail
BIN="${1:?usage: prometheus_test.sh BIN_DIR}"
source "$(dirname "$0")/proverd_lib.sh"
command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/install-deps.sh installs it)"
start_proverd "$WORK/data" --insecure-loopback
PROM_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

cat > "$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: proverd
    static_configs:
      - targets: ["$METRICS"]
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

query() {  # query PROMQL: prints the first value or nothing
  python3 - "$PROM_PORT" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
port, q = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query=" + urllib.parse.quote(q), timeout=5) as r:
        res = json.load(r)["data"]["result"]
    print(res[0]["value"][1] if res else "")
except Exception:
    print("")
PY
}
wait_for() {  # wait_for PROMQL EXPECTED_MIN
  for _ in $(seq 1 120); do
    v="$(query "$1")"
    if [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if float('$v') >= $2 else 1)"; then return 0; fi
    sleep 0.5
  done
  fail "$1 never reached $2 (last: '${v:-}')"
}

wait_for 'up{job="proverd"}' 1
wait_for 'sum(prover_jobs_finished_total) or vector(0)' 0
BEFORE="$(query 'sum(prover_jobs_finished_total) or vector(0)')"
for n in 6 7 8; do
  "$BIN/prover" --server "$GRPC" submit --workload fibonacci --log-rows "$n" --wait >/dev/null 2>&1 \
    || fail "job $n"
done
wait_for 'sum(prover_jobs_finished_total{state="SUCCEEDED"})' $((${BEFORE%.*} + 3))
wait_for 'sum(prover_jobs_submitted_total{workload="fibonacci"})' 3
wait_for 'sum(prover_job_duration_seconds_count)' 3
wait_for 'prover_jobs{state="SUCCEEDED"}' 3
wait_for 'count(prover_stage_duration_seconds_count)' 1
wait_for 'prover_engine_memory_budget_bytes{engine="cpu"}' 1
wait_for 'sum(prover_requests_total{method="SubmitProof",code="OK"})' 3
wait_for 'sum(prover_request_duration_seconds_count{method="SubmitProof"})' 3
wait_for 'prover_engines{kind="cpu"}' 1
wait_for 'count(prover_build_info)' 1
wait_for 'process_resident_memory_bytes{job="proverd"}' 1000000
wait_for 'count(prover_resource_refusals_total)' 1
echo "prometheus test: OK (Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'))"
