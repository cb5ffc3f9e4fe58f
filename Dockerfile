# proverd, the GPU STARK proving service, and the prover CLI.
#
#   docker build -t prover .
#   docker run --gpus all -p 50051:50051 -p 9464:9464 \
#     -v prover-data:/var/lib/prover \
#     -v "$PWD/deploy/api-keys.txt:/etc/prover/api-keys.txt:ro" prover
#
# deploy/docker-compose.yml runs it with Prometheus and Grafana (see deploy/README.md).

# ---------------------------------------------------------------------------- builder
FROM nvidia/cuda:13.0.1-devel-ubuntu24.04 AS builder

ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src

# The toolchain and -dev packages first, in their own layer: a source change does not
# reinstall them. install-deps.sh is written for Debian 12; every name it installs exists
# under the same name on Ubuntu 24.04 (universe).
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*

COPY . .

# BUILD_JOBS caps the build parallelism (default: ninja's, about the number of cores);
# lower it when nvcc and the compiler run out of memory.
ARG BUILD_JOBS=
RUN cmake -S . -B build -G Ninja \
      -DCMAKE_BUILD_TYPE=Release \
      -DPROVER_CUDA=ON \
      -DPROVER_BUILD_TESTS=OFF \
      -DPROVER_BUILD_BENCHMARKS=OFF \
      -DCMAKE_CUDA_ARCHITECTURES=90 \
 && cmake --build build --target proverd prover ${BUILD_JOBS:+-j "$BUILD_JOBS"} \
 && test -x build/bin/proverd && test -x build/bin/prover

# ---------------------------------------------------------------------------- runtime
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04

ARG DEBIAN_FRONTEND=noninteractive

# Only the shared libraries the binaries load: the runtime packages behind the -dev
# packages of scripts/install-deps.sh. These names must match the Ubuntu release of this
# image (24.04 "noble": the SONAME in the name, and the "t64" suffix of the 64-bit time_t
# transition). When the base image moves to another Ubuntu release, update them; the ldd
# check below fails the build when a library is missing. The sqlite3 CLI is the one tool
# added: online backups of the job database (deploy/README.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libgrpc++1.51t64 \
      libgrpc29t64 \
      libprotobuf32t64 \
      libabsl20220623t64 \
      libtbb12 \
      libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
      libsqlite3-0 \
      libpq5 \
      libssl3t64 \
      sqlite3 \
 && rm -rf /var/lib/apt/lists/*

# An unprivileged user with a fixed uid, so that volume ownership is predictable.
RUN groupadd --gid 10001 prover \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/prover \
      --shell /usr/sbin/nologin prover \
 && mkdir -p /var/lib/prover /etc/prover \
 && chown prover:prover /var/lib/prover \
 && chmod 0750 /var/lib/prover

COPY --from=builder /src/build/bin/proverd /src/build/bin/prover /usr/local/bin/
# A default configuration; deploy/docker-compose.yml mounts its own over it. The API keys
# file it names is never baked into the image: mount it at /etc/prover/api-keys.txt.
COPY deploy/proverd.conf /etc/prover/proverd.conf

# Every shared library must resolve. libcuda and NVML come from the host driver at run
# time (NVIDIA Container Toolkit), so they are not looked for here.
RUN missing="$(ldd /usr/local/bin/proverd /usr/local/bin/prover \
      | grep 'not found' | grep -v -e 'libcuda\.so' -e 'libnvidia-ml\.so' || true)"; \
    if [ -n "$missing" ]; then echo "missing shared libraries:"; echo "$missing"; exit 1; fi

USER 10001:10001
WORKDIR /var/lib/prover
VOLUME ["/var/lib/prover"]

# 50051: gRPC API; 9464: Prometheus metrics.
EXPOSE 50051 9464

# grpc.health.v1 Check through the CLI; exits 0 when SERVING and needs no API key.
# It dials the port of the default "listen"; change both together.
# `prover health` exits 1 when NOT_SERVING and 4 when unreachable; Docker wants 0 or 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD prover --server 127.0.0.1:50051 health || exit 1

# SIGTERM drains: no new jobs are accepted, running ones get drain-timeout-s to finish.
# Give the container more than that to stop (docker stop -t 60; compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["proverd"]
CMD ["--config", "/etc/prover/proverd.conf"]
