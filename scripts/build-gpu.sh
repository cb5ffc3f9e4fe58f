#!/usr/bin/env bash
# Builds a self-contained tree for a GPU machine that has the CUDA driver but none of our
# other libraries: build-gpu/carry/bin with proverd, the CLI, the CUDA engine's tests and
# the benchmark binaries, all for sm_90, and build-gpu/carry/lib with every shared library
# they need that is not part of the CUDA driver or the C runtime, plus carry/commit.txt
# (the commit built, "+dirty" when the tree had changes), packed as build-gpu/carry.tgz (the
# binaries and libraries are over 60 MiB, about a third of it packed). Carry
# build-gpu/carry.tgz to the machine and run scripts/gpu-verify.sh there, which unpacks it
# (docs/BENCHMARKS.md, "The CUDA engine").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null  # a no-op when everything is installed
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPROVER_CUDA=ON \
  -DPROVER_BUILD_SERVICE=ON -DPROVER_BUILD_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" >/dev/null
targets=(proverd prover prover-bench prover-bench-primitives prover_cuda_engine_test prover_kernels_test
         prover_device_job_test)
ninja -C build-gpu -j"$(nproc)" "${targets[@]}"
rm -rf build-gpu/carry-lib && mkdir -p build-gpu/carry-lib
for t in "${targets[@]}"; do
  ldd "build-gpu/bin/$t" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libgcc_s.so*|libcuda.so*) ;;
    *) cp -L "$lib" build-gpu/carry-lib/ ;;
  esac
done
# Only the binaries and the libraries travel (the working tree limit is 64 MiB).
rm -rf build-gpu/carry && mkdir -p build-gpu/carry/bin
for t in "${targets[@]}"; do cp "build-gpu/bin/$t" build-gpu/carry/bin/; done
mv build-gpu/carry-lib build-gpu/carry/lib
strip build-gpu/carry/bin/* build-gpu/carry/lib/* 2>/dev/null || true
{ git rev-parse --short=7 HEAD; } >build-gpu/carry/commit.txt 2>/dev/null || echo unknown >build-gpu/carry/commit.txt
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || sed -i 's/$/+dirty/' build-gpu/carry/commit.txt
# The oldest host C library the carry runs on: the newest GLIBC_ symbol version any carried
# binary or library asks for (libstdc++ travels with it). The GPU image seen on 2026-11-30
# had glibc 2.39 (Ubuntu); this build needs what Debian 12 has, 2.36 at most.
glibc="$(objdump -T build-gpu/carry/bin/* build-gpu/carry/lib/* 2>/dev/null |
  grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1)"
echo "carry needs a host glibc >= ${glibc#GLIBC_}" | tee build-gpu/carry/glibc.txt
tar czf build-gpu/carry.tgz -C build-gpu carry
# What travels to the device machine (the working tree and the carry) must stay under 64 MiB.
tree_kib=$( (git ls-files -z | xargs -0 du -ck 2>/dev/null || true) | tail -1 | cut -f1)
carry_kib=$(du -sk build-gpu/carry.tgz | cut -f1)
if (( tree_kib + carry_kib > 60 * 1024 )); then
  echo "build-gpu.sh: the tree (${tree_kib} KiB) and the carry (${carry_kib} KiB) exceed the device tool's 64 MiB" >&2
  exit 1
fi
echo "carry: build-gpu/carry.tgz, ${carry_kib} KiB ($(du -sk build-gpu/carry | cut -f1) KiB unpacked)"
