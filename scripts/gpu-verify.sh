#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with build-gpu/carry.tgz carried there
# (scripts/build-gpu.sh). One batched run, each step under its own time limit and the whole
# under a deadline (GPU_VERIFY_DEADLINE_S, default 420 s; steps past it are reported as not
# run), most important first:
#   1. the GPU's description (nvidia-smi) and the commit measured; no GPU is a failure;
#   2. the kernel tests, the device-job tests and the engine contract suite (CUDA proofs
#      byte-identical to the CPU engine's); a skipped test is a failure here, and
#      PROVER_REQUIRE_GPU=1 makes a test that finds no GPU fail rather than skip;
#   3. byte-identical proofs at the benchmark sizes (fibonacci 2^20, 2^22, zkvm 16, 18, 20):
#      `prover prove` on both engines, compared and verified;
#   4. the device's copy bandwidth (the memory ceiling), through the image's PyTorch;
#   5. the whole-proof benchmarks on the CUDA engine and on the CPU engine of the same host;
#      a benchmark that records an error is a failure;
#   6. proverd on the GPU (scripts/gpu-service-check.sh): jobs through the service, a forced
#      GPU failure rerun on the CPU and counted;
#   7. compute-sanitizer (memcheck, racecheck, synccheck, initcheck) on small proofs, where
#      the machine allows it (a refusal is reported, not failed).
# Results: $OUT (or ./gpu-results) receives summary.txt and gpu-results.tgz (every log and
# JSON; the device tool returns at most 8 files). Exit status 0 only when every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."
# The carry travels packed (scripts/build-gpu.sh); unpack it once.
if [[ ! -d build-gpu/carry/bin && -f build-gpu/carry.tgz ]]; then
  tar xzf build-gpu/carry.tgz -C build-gpu || { echo "cannot unpack build-gpu/carry.tgz" >&2; exit 1; }
fi
final="${OUT:-gpu-results}"
mkdir -p "$final"
work="$(mktemp -d /tmp/gpu-verify.XXXXXX)"
carry=build-gpu/carry
bin="$PWD/$carry/bin"
export LD_LIBRARY_PATH="$PWD/$carry/lib:${LD_LIBRARY_PATH:-}"
deadline=$(( $(date +%s) + ${GPU_VERIFY_DEADLINE_S:-420} ))
summary="$work/summary.txt"
status=0

bundle() {
  cp "$summary" "$final/summary.txt"
  tar czf "$final/gpu-results.tgz" -C "$work" . 2>/dev/null
}
note() { echo "$*" | tee -a "$summary"; }
elapsed() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }'; }
# step NAME LIMIT_S COMMAND...: runs COMMAND with its output in NAME.log, records the
# outcome and the seconds it took, and bundles what exists so far.
step() {
  local name=$1 limit=$2; shift 2
  local now; now=$(date +%s)
  if (( now >= deadline )); then
    note "$(printf '%-28s NOT RUN (deadline)' "$name")"; status=1; return 1
  fi
  (( now + limit > deadline )) && limit=$(( deadline - now ))
  local t0 rc; t0=$(date +%s.%N)
  timeout -k 5 "$limit" bash -c '"$@"' "$name" "$@" >"$work/$name.log" 2>&1
  rc=$?
  local secs; secs=$(elapsed "$t0")
  if (( rc == 0 )); then
    note "$(printf '%-28s ok    %6.1f s' "$name" "$secs")"
  else
    note "$(printf '%-28s FAIL  %6.1f s (exit %d%s)' "$name" "$secs" "$rc" \
      "$( ((rc == 124 || rc == 137)) && echo ', time limit' )")"
    tail -n 15 "$work/$name.log" | sed 's/^/    /' | tee -a "$summary"
    status=1
  fi
  bundle
  return $rc
}

# Steps run in a child bash (so that `timeout` can stop them): it sees these.
# PROVER_REQUIRE_GPU=1: a GPU test that finds no GPU fails instead of skipping.
export PROVER_REQUIRE_GPU=1
export work bin carry LD_LIBRARY_PATH

# 1. The GPU and the commit.
{
  nvidia-smi
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.memory,driver_version,compute_cap \
    --format=csv
  echo "commit: $(cat "$carry/commit.txt" 2>/dev/null || echo unknown)"
  echo "host: $(nproc) cores, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  ldd --version | head -1
} >"$work/gpu.txt" 2>&1
gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
note "gpu: ${gpu_name:-NONE}; commit $(cat "$carry/commit.txt" 2>/dev/null || echo unknown)"
if [ -z "$gpu_name" ]; then
  note "no GPU answers nvidia-smi: nothing here can be verified"; bundle; exit 1
fi

# 2. Tests; a skipped test counts as a failure (a GPU is required here).
gtest() {  # NAME BINARY [args]
  local name=$1 binary=$2; shift 2
  "$bin/$binary" --gtest_output="json:$work/$name.json" "$@" || return 1
  python3 - "$work/$name.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
cases = [c for s in d["testsuites"] for c in s["testsuite"]]
skipped = [c["name"] for c in cases if c.get("result") == "SKIPPED" or c.get("status") == "NOTRUN"]
print(f"{len(cases)} tests, {d['failures']} failures, {len(skipped)} skipped")
if skipped:
    print("skipped (a GPU is required here):", ", ".join(skipped))
    sys.exit(1)
sys.exit(1 if d["failures"] else 0)
PYEOF
}
export -f gtest
step kernels_test 120 gtest kernels_test prover_kernels_test
step device_job_test 120 gtest device_job_test prover_device_job_test
step cuda_engine_test 300 gtest cuda_engine_test prover_cuda_engine_test

# 3. Byte-identical proofs at the benchmark sizes.
parity() {
  local ok=0 w
  for w in "fibonacci --log-rows 20" "fibonacci --log-rows 22" "zkvm --scale 16" \
           "zkvm --scale 18" "zkvm --scale 20"; do
    local tag; tag="$(echo "$w" | tr -cd 'a-z0-9')"
    local t0 t1 t2
    t0=$(date +%s.%N)
    "$bin/prover" prove --workload $w --engine cuda --out "$work/$tag.cuda.proof" || { ok=1; continue; }
    t1=$(date +%s.%N)
    "$bin/prover" prove --workload $w --engine cpu --out "$work/$tag.cpu.proof" || { ok=1; continue; }
    t2=$(date +%s.%N)
    if cmp -s "$work/$tag.cuda.proof" "$work/$tag.cpu.proof" &&
       "$bin/prover" verify --workload $w "$work/$tag.cuda.proof" >/dev/null; then
      echo "identical and verified: $w ($(sha256sum <"$work/$tag.cuda.proof" | cut -c1-16)," \
           "cuda $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s," \
           "cpu $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s, process and trace included)"
    else
      echo "DIFFERENT or rejected: $w"; ok=1
    fi
    rm -f "$work/$tag.cpu.proof"
    [ "$ok" = 0 ] && rm -f "$work/$tag.cuda.proof"
  done
  return $ok
}
export -f parity
step parity_large 150 parity

# 4. The memory ceiling: a large device-to-device copy, bytes read plus bytes written.
bandwidth() {
  python3 - "$work/bandwidth.json" <<'PYEOF'
import json, sys, torch
n = 4 << 30
a = torch.randint(0, 255, (n,), dtype=torch.uint8, device="cuda")
b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
times = []
for _ in range(20):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); b.copy_(a); e.record(); torch.cuda.synchronize()
    times.append(s.elapsed_time(e) / 1e3)
times.sort()
med = times[len(times) // 2]
r = {"bytes_moved": 2 * n, "median_s": med, "bytes_per_s": 2 * n / med,
     "device": torch.cuda.get_device_name(0)}
json.dump(r, open(sys.argv[1], "w"), indent=1)
print(f"device-to-device copy: {2 * n / med / 1e12:.2f} TB/s (read + write, median of 20)")
PYEOF
}
export -f bandwidth
step bandwidth 60 bandwidth

# 5. Benchmarks; a benchmark that records an error fails the step.
bench() {  # engine, output name, extra flags
  local engine=$1 name=$2; shift 2
  "$bin/prover-bench" --engine="$engine" --benchmark_out="$work/$name.json" \
    --benchmark_out_format=json "$@" || return 1
  python3 - "$work/$name.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [b["name"] + ": " + b.get("error_message", "") for b in d["benchmarks"] if b.get("error_occurred")]
for b in d["benchmarks"]:
    print(f'{b["name"]:32} {b["real_time"]:10.2f} {b["time_unit"]}  launches {b.get("kernel_launches", 0):.0f}')
if bad:
    print("errors:", *bad, sep="\n  ")
sys.exit(1 if bad else 0)
PYEOF
}
bench_cpu() {
  PROVER_BENCH_LARGE=1 bench cpu bench-cpu \
    --benchmark_filter='prove/(fibonacci/2\^(20|22)|zkvm/(16|18|20))'
}
export -f bench bench_cpu
step bench_cuda 150 bench cuda bench-cuda
step bench_cpu 150 bench_cpu

# 6. The service on the GPU, and a forced GPU failure.
step service 120 bash scripts/gpu-service-check.sh "$bin" "$work"

# 7. compute-sanitizer on small proofs. Some machines refuse it ("Device not supported"):
# a refusal, or no compute-sanitizer at all, is reported plainly and fails nothing else.
sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer \
  /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1)"
if [ -n "$sanitizer" ] &&
   "$sanitizer" --tool memcheck "$bin/prover" prove --workload fibonacci --log-rows 4 \
     --engine cuda --out "$work/san.proof" >"$work/sanitizer_probe.log" 2>&1; then
  san() {  # tool, workload...
    local tool=$1; shift
    "$sanitizer" --tool "$tool" --error-exitcode 9 --print-limit 20 \
      "$bin/prover" prove "$@" --engine cuda --out "$work/san.proof" &&
      "$bin/prover" verify "$@" "$work/san.proof"
  }
  export -f san; export sanitizer
  step sanitizer_memcheck_fib 60 san memcheck --workload fibonacci --log-rows 10
  step sanitizer_memcheck_zkvm 90 san memcheck --workload zkvm --scale 10
  step sanitizer_racecheck 60 san racecheck --workload fibonacci --log-rows 10
  step sanitizer_synccheck 45 san synccheck --workload fibonacci --log-rows 10
  step sanitizer_initcheck 60 san initcheck --workload fibonacci --log-rows 10
elif [ -n "$sanitizer" ]; then
  note "compute-sanitizer: refused on this machine (not a failure): $(grep -m1 -i 'error\|not supported' "$work/sanitizer_probe.log")"
else
  note "compute-sanitizer: not installed on this machine (not a failure)"
fi

note "overall: $([ $status = 0 ] && echo PASS || echo FAIL)"
bundle
cat "$summary"
exit $status
