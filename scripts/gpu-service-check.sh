#!/usr/bin/env bash
# On the GPU machine, called by scripts/gpu-verify.sh: gpu-service-check.sh BIN OUTDIR.
# proverd on its embedded defaults (SQLite, local files, engines auto: the GPU, then the
# CPU) proves a few jobs through the service, each checked to have run on the GPU and its
# proof verified offline. Then a GPU failure is forced for real: another process (the
# image's PyTorch) takes almost all of the device's free memory, so the next job's device
# allocations fail; that job must still SUCCEED, on the CPU, and be counted in
# prover_engine_fallbacks_total{reason="gpu_error"}. With the memory back, the next job
# must run on the GPU again. Exit 0 only when all of that held.
set -uo pipefail
BIN=$1
out=$2
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$out/proverd.log"; exit 1; }

"$BIN/proverd" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$work/data" \
  --insecure-loopback --ready-file "$work/ready" 2>"$out/proverd.log" &
pids+=($!)
for _ in $(seq 1 600); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || fail "proverd did not start"
grpc="$(sed -n 's/^grpc=//p' "$work/ready")"
metrics="$(sed -n 's/^metrics=//p' "$work/ready")"
P() { "$BIN/prover" --server "$grpc" "$@"; }
P info >"$out/service-info.json" || fail "prover info"
grep -q '"cuda' "$out/service-info.json" || fail "proverd serves no CUDA engine: $(cat "$out/service-info.json")"

# job NAME EXPECTED_ENGINE_PREFIX WORKLOAD...: submit, wait, check engine, verify offline.
job() {
  local name=$1 want=$2; shift 2
  P submit "$@" --wait --timeout-s 120 --json --out "$work/$name.proof" >"$out/job-$name.json" ||
    fail "job $name did not succeed: $(cat "$out/job-$name.json")"
  local engine
  engine="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("engine",""))' \
    "$out/job-$name.json")"
  case "$engine" in
    "$want"*) ;;
    *) fail "job $name ran on '$engine', expected $want" ;;
  esac
  "$BIN/prover" verify "$@" "$work/$name.proof" >/dev/null || fail "job $name: proof rejected"
  echo "job $name: SUCCEEDED on $engine, proof verified"
}
fallbacks() {
  python3 - "$metrics" <<'PYEOF'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5).read().decode()
n = 0.0
for line in text.splitlines():
    if line.startswith("prover_engine_fallbacks_total") and 'reason="gpu_error"' in line:
        n += float(line.split()[-1])
print(int(n))
PYEOF
}

job fib16 cuda --workload fibonacci --log-rows 16
job fib20 cuda --workload fibonacci --log-rows 20
job zkvm14 cuda --workload zkvm --scale 14
before="$(fallbacks)"

# The hog: all of the device's free memory but 256 MiB, held until killed.
python3 - "$work/hog-ready" <<'PYEOF' >"$out/hog.log" 2>&1 &
import sys, time, torch
free, total = torch.cuda.mem_get_info()
x = torch.empty(free - (256 << 20), dtype=torch.uint8, device="cuda")
open(sys.argv[1], "w").write(f"{free} {total}\n")
time.sleep(600)
PYEOF
hog=$!
pids+=($hog)
for _ in $(seq 1 600); do [ -s "$work/hog-ready" ] && break; sleep 0.05; done
[ -s "$work/hog-ready" ] || fail "the memory hog did not start: $(cat "$out/hog.log")"
echo "hog holds the device's free memory but 256 MiB (free, total: $(cat "$work/hog-ready"))"
job zkvm18-forced cpu --workload zkvm --scale 18
after="$(fallbacks)"
echo "gpu_error fallbacks: $before before, $after after"
[ "$after" -gt "$before" ] || fail "the forced GPU failure was not counted"
grep -m 3 'rerunning on the CPU' "$out/proverd.log"

kill "$hog"; wait "$hog" 2>/dev/null
job zkvm18-after cuda --workload zkvm --scale 18
job fib20-after cuda --workload fibonacci --log-rows 20
echo "service check: all jobs as expected"
