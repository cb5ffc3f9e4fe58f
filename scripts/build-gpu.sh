#!/usr/bin/env bash
# Builds a self-contained tree for a GPU machine that has the CUDA driver but none of our
# other libraries: build-gpu/carry/bin with proverd, the CLI, the CUDA engine's tests and
# the benchmark binaries, all for sm_90, and build-gpu/carry/lib with every shared library
# they need that is not part of the CUDA driver or the C runtime, plus carry/commit.txt
# (the commit built, "+dirty" when the tree had changes). Carry build-gpu/carry to the
# machine and run scripts/gpu-verify.sh there (docs/BENCHMARKS.md, "The CUDA engine").
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
du -sh build-gpu/carry
