#!/usr/bin/env bash
# Runs on the GPU machine after scripts/gpu-verify.sh, with the same carry: where a proof's
# time goes. Nsight Compute (ncu, --clock-control none: the card's clocks are left alone)
# reads every kernel's duration, DRAM bytes and registers for one fibonacci 2^22 and one
# zkvm 16 proof; the host-to-device ceilings (pinned and pageable) and one thread's memcpy
# rate are measured through the image's PyTorch; prover-bench runs once more on the CUDA
# engine (the spread between two runs of the same binary). Results: $OUT/profile.tgz and
# $OUT/profile-summary.txt; summarize here with scripts/gpu-profile-summary.py.
set -uo pipefail
cd "$(dirname "$0")/.."
# The carry travels packed (scripts/build-gpu.sh); unpack it once.
if [[ ! -d build-gpu/carry/bin && -f build-gpu/carry.tgz ]]; then
  tar xzf build-gpu/carry.tgz -C build-gpu || { echo "cannot unpack build-gpu/carry.tgz" >&2; exit 1; }
fi
final="${OUT:-gpu-results}"
mkdir -p "$final"
work="$(mktemp -d /tmp/gpu-profile.XXXXXX)"
bin="$PWD/build-gpu/carry/bin"
export LD_LIBRARY_PATH="$PWD/build-gpu/carry/lib:${LD_LIBRARY_PATH:-}"
bundle() { tar czf "$final/profile.tgz" -C "$work" . 2>/dev/null; }
ncu="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)"
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__registers_per_thread,launch__grid_size,launch__block_size,sm__warps_active.avg.pct_of_peak_sustained_active
profile() {  # name, workload...
  local name=$1; shift
  timeout -k 5 150 "$ncu" --clock-control none --csv --page raw --print-units base \
    --metrics "$metrics" "$bin/prover" prove "$@" --engine cuda --out "$work/$name.proof" \
    >"$work/ncu-$name.csv" 2>"$work/ncu-$name.log"
  echo "ncu $name: exit $? ($(grep -c '^"' "$work/ncu-$name.csv") rows)"
  bundle
}
{
  echo "ncu: ${ncu:-not found}"
  [ -n "$ncu" ] && profile fib22 --workload fibonacci --log-rows 22
  [ -n "$ncu" ] && profile zkvm16 --workload zkvm --scale 16
  timeout 60 python3 - <<'PYEOF'
import time, torch
n = 1 << 30
dev = torch.empty(n, dtype=torch.uint8, device="cuda")
for name, pin in (("pinned", True), ("pageable", False)):
    host = torch.randint(0, 255, (n,), dtype=torch.uint8).pin_memory() if pin else torch.randint(0, 255, (n,), dtype=torch.uint8)
    dev.copy_(host); torch.cuda.synchronize()
    ts = []
    for _ in range(5):
        t = time.perf_counter(); dev.copy_(host); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    print(f"host-to-device {name}: {n / sorted(ts)[2] / 1e9:.1f} GB/s (1 GiB, median of 5)")
a = torch.randint(0, 255, (n,), dtype=torch.uint8); b = torch.empty_like(a)
torch.set_num_threads(1)
b.copy_(a)
ts = []
for _ in range(5):
    t = time.perf_counter(); b.copy_(a); ts.append(time.perf_counter() - t)
print(f"host memcpy, one thread: {n / sorted(ts)[2] / 1e9:.1f} GB/s (1 GiB, median of 5)")
PYEOF
  timeout 120 "$bin/prover-bench" --engine=cuda --benchmark_filter='prove/' \
    --benchmark_out="$work/bench-cuda-2.json" --benchmark_out_format=json >"$work/bench-cuda-2.log" 2>&1
  echo "prover-bench (second run): exit $?"
  grep -E '^prove/' "$work/bench-cuda-2.log" | awk '{print $1, $2, $3}'
} 2>&1 | tee "$work/profile-summary.txt"
cp "$work/profile-summary.txt" "$final/"
bundle
