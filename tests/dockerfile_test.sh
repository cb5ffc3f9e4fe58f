#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine (none runs where CI does):
#   - hadolint-style rules: pinned base images, apt-get with --no-install-recommends and its
#     lists removed in the same layer, COPY not ADD, a non-root USER, a HEALTHCHECK, the
#     exec form for ENTRYPOINT;
#   - every shared library the built proverd and prover need (their ELF NEEDED entries) is
#     provided in the runtime stage: by the base image (glibc, libstdc++, CUDA's runtime) or
#     by a package of its `apt-get install` list, named as Ubuntu 24.04 names it.
#   tests/dockerfile_test.sh BUILD_BIN_DIR
set -u
BIN="${1:?usage: dockerfile_test.sh BUILD_BIN_DIR}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NEEDED="$(for b in proverd prover; do readelf -d "$BIN/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u)"
DOCKERFILE="$ROOT/Dockerfile" NEEDED="$NEEDED" python3 - <<'PY'
import os, re, sys

text = open(os.environ["DOCKERFILE"]).read()
joined = re.sub(r"\\\n", " ", text)  # continuation lines joined
lines = [l for l in joined.splitlines() if l.strip() and not l.lstrip().startswith("#")]
failed = 0


def check(cond, what, detail=""):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed += 1
        if detail:
            print(f"  | {detail}")


froms = [l for l in lines if l.startswith("FROM ")]
check(froms and all(":" in l.split()[1] and not l.split()[1].endswith(":latest") for l in froms),
      "every base image is pinned to a tag (not latest)", froms)
runs = [l for l in lines if l.startswith("RUN ")]
apt = [r for r in runs if "apt-get install" in r]
check(all("--no-install-recommends" in r for r in apt if "install-deps.sh" not in r),
      "apt-get install uses --no-install-recommends", apt)
check(all("rm -rf /var/lib/apt/lists" in r for r in runs if "apt-get" in r or "install-deps" in r),
      "apt lists are removed in the layer that fetched them")
check(not any(l.startswith("ADD ") for l in lines), "COPY, not ADD")
users = [l.split()[1] for l in lines if l.startswith("USER ")]
check(users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as a non-root user",
      users)
check(any(l.startswith("HEALTHCHECK ") for l in lines), "a HEALTHCHECK")
ep = [l for l in lines if l.startswith("ENTRYPOINT ")]
check(ep and ep[-1].split(None, 1)[1].startswith("["), "ENTRYPOINT in exec form (signals reach proverd)")

# The runtime stage: everything after the last FROM.
runtime = joined[joined.rfind("\nFROM "):]
m = re.search(r"apt-get install[^&]*", runtime)
packages = set(re.findall(r"\b(lib[\w.+-]+|ca-certificates|sqlite3)\b", m.group(0))) if m else set()
check(bool(packages), "the runtime stage installs its libraries with apt-get", runtime[:200])

# SONAME -> the Ubuntu 24.04 package that ships it (t64: the 64-bit time_t transition).
BASE = re.compile(r"^(ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|"
                  r"libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|"
                  r"libcudart\.so\.\d+|libcuda\.so\.1|libnvrtc\.so\.\d+)$")
RULES = [
    (r"^libgrpc\+\+(_reflection)?\.so\.1\.51$", "libgrpc++1.51t64"),
    (r"^lib(grpc|gpr)\.so\.29$", "libgrpc29t64"),
    (r"^libprotobuf\.so\.32$", "libprotobuf32t64"),
    (r"^libabsl_\w+\.so\.20220623$", "libabsl20220623t64"),
    (r"^libtbb\.so\.12$", "libtbb12"),
    (r"^libprometheus-cpp-core\.so\.1\.0$", "libprometheus-cpp-core1.0"),
    (r"^libprometheus-cpp-pull\.so\.1\.0$", "libprometheus-cpp-pull1.0"),
    (r"^libsqlite3\.so\.0$", "libsqlite3-0"),
    (r"^libpq\.so\.5$", "libpq5"),
    (r"^lib(ssl|crypto)\.so\.3$", "libssl3t64"),
]
unprovided = []
for soname in os.environ["NEEDED"].split():
    if BASE.match(soname):
        continue
    pkg = next((p for r, p in RULES if re.match(r, soname)), None)
    if pkg is None:
        unprovided.append(f"{soname}: no known Ubuntu 24.04 package (add a rule here and the "
                          f"package to the Dockerfile)")
    elif pkg not in packages:
        unprovided.append(f"{soname}: needs {pkg}, which the runtime stage does not install")
check(not unprovided, "every shared library the binaries need is in the runtime stage",
      "; ".join(unprovided))
print(f"{'all Dockerfile checks passed' if not failed else f'{failed} failures'}")
sys.exit(1 if failed else 0)
PY
