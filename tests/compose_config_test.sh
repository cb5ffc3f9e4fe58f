#!/usr/bin/env bash
# Checks the deployment files in deploy/ (and the Dockerfile next to them) without building
# or starting anything:
#   - `docker compose config -q` on deploy/docker-compose.yml, when docker compose is
#     installed (the only part that is skipped otherwise);
#   - always, with python3: the Grafana dashboard parses, has the expected rows and panels,
#     and every prover_* metric its expressions use is one proverd exports (and every
#     exported metric is on it); the compose file's bind-mounted files exist; the Prometheus
#     and Grafana provisioning point where the compose file mounts things; proverd.conf and
#     api-keys.txt are in their formats; the health check dials the configured port.
#     YAML is parsed with PyYAML when it is importable, otherwise checked line by line.
#   - with promtool, when it is on PATH: the Prometheus config and every dashboard
#     expression as PromQL.
# Exit status 0 when everything passed, 1 otherwise.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1

if ! command -v python3 >/dev/null 2>&1; then
  echo "FAIL: python3 is needed (scripts/install-deps.sh installs it)"
  exit 1
fi

compose_result="skip"
compose_detail=""
if docker compose version >/dev/null 2>&1; then
  if compose_detail="$(docker compose -f deploy/docker-compose.yml config -q 2>&1)"; then
    compose_result="pass"
  else
    compose_result="fail"
  fi
else
  echo "docker compose not installed; skipping"
fi

COMPOSE_RESULT="$compose_result" COMPOSE_DETAIL="$compose_detail" python3 - <<'PY'
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

passed = 0
failed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok: {what}")


def fail(what, detail=""):
    global failed
    failed += 1
    print(f"FAIL: {what}")
    for line in str(detail).strip().splitlines()[:20]:
        print(f"  | {line}")


def check(cond, what, detail=""):
    if cond:
        ok(what)
    else:
        fail(what, detail)
    return cond


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


DEPLOY = "deploy"
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
DASHBOARD = os.path.join(DEPLOY, "grafana/dashboards/prover.json")
DATASOURCES = os.path.join(DEPLOY, "grafana/provisioning/datasources/prometheus.yml")
PROVIDERS = os.path.join(DEPLOY, "grafana/provisioning/dashboards/prover.yml")
PROMETHEUS = os.path.join(DEPLOY, "prometheus/prometheus.yml")
CONF = os.path.join(DEPLOY, "proverd.conf")
KEYS = os.path.join(DEPLOY, "api-keys.txt")

# ------------------------------------------------------------------ docker compose config
r = os.environ.get("COMPOSE_RESULT")
if r == "pass":
    ok("docker compose config -q")
elif r == "fail":
    fail("docker compose config -q", os.environ.get("COMPOSE_DETAIL", ""))

# ------------------------------------------------------------------ files present
absent = False
for p in ["Dockerfile", ".dockerignore", COMPOSE, DASHBOARD, DATASOURCES, PROVIDERS,
          PROMETHEUS, CONF, KEYS, os.path.join(DEPLOY, "README.md")]:
    if not os.path.isfile(p):
        fail(f"{p} exists")
        absent = True
if absent:
    print(f"{passed} passed, {failed} failed")
    sys.exit(1)

try:
    import yaml  # noqa: F401
    HAVE_YAML = True
except Exception:
    HAVE_YAML = False
    print("note: PyYAML not importable; YAML files are checked line by line")

# ------------------------------------------------------------------ metrics proverd exports
COUNTERS = {
    "prover_jobs_submitted_total", "prover_jobs_finished_total",
    "prover_bytes_received_total", "prover_bytes_sent_total",
    "prover_domain_cache_hits_total", "prover_domain_cache_misses_total",
    "prover_auth_failures_total", "prover_engine_fallbacks_total",
    "prover_requests_total", "prover_rate_limited_total",
    "prover_artifact_corruptions_total",
    "prover_gpu_pcie_bytes_total", "prover_gpu_kernel_launches_total",
    "prover_resource_refusals_total", "prover_job_retries_total",
    "prover_fenced_writes_total", "prover_lease_expirations_total",
}
GAUGES = {
    "prover_jobs", "prover_queue_depth", "prover_queue_oldest_age_seconds",
    "prover_domain_cache_bytes", "prover_engine_running_jobs",
    "prover_engine_memory_reserved_bytes", "prover_engine_memory_budget_bytes",
    "prover_gpu_memory_in_use_bytes", "prover_gpu_memory_peak_bytes",
    "prover_gpu_domain_cache_bytes", "prover_gpu_streams",
    "prover_tenant_jobs", "prover_engines", "prover_build_info",
}
HISTOGRAMS = {
    "prover_job_duration_seconds", "prover_job_queue_wait_seconds",
    "prover_stage_duration_seconds", "prover_proof_size_bytes",
    "prover_request_duration_seconds", "prover_claim_duration_seconds",
}
EXPORTED = COUNTERS | GAUGES | HISTOGRAMS
METRIC_RE = re.compile(r"\bprover_[A-Za-z0-9_:]*")


def metric_base(name):
    """The exported metric a series name belongs to, or None when it is not one."""
    if name in COUNTERS or name in GAUGES:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
            return name[: -len(suffix)]
    return None  # includes a bare histogram name, which has no series of its own


def balanced(expr):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    in_str = None
    for ch in expr:
        if in_str:
            if ch == in_str:
                in_str = None
            continue
        if ch in "\"'`":
            in_str = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack and in_str is None


# ------------------------------------------------------------------ the dashboard
try:
    dash = json.loads(read(DASHBOARD))
    ok(f"{DASHBOARD} parses as JSON")
except Exception as e:  # noqa: BLE001
    fail(f"{DASHBOARD} parses as JSON", e)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1)

check(dash.get("uid") == "prover-overview", "dashboard uid is prover-overview",
      f"uid = {dash.get('uid')!r}")
sv = dash.get("schemaVersion")
check(isinstance(sv, int) and 36 <= sv <= 41, "dashboard schemaVersion is about 39",
      f"schemaVersion = {sv!r}")
check(bool(dash.get("title")), "dashboard has a title")

top = dash.get("panels", [])
all_panels = []
for p in top:
    all_panels.append(p)
    all_panels.extend(p.get("panels", []) if p.get("type") == "row" else [])

rows = [p.get("title") for p in top if p.get("type") == "row"]
rows += [p.get("title") for p in all_panels if p.get("type") == "row" and p not in top]
want_rows = ["Overview", "Latency", "Engines", "API", "Proofs", "Resources and process", "Nodes"]
check(rows == want_rows, f"dashboard rows are {', '.join(want_rows)}", f"rows = {rows}")

ids = [p.get("id") for p in all_panels]
check(len(ids) == len(set(ids)) and None not in ids, "panel ids are set and unique", f"ids = {ids}")

# The datasource uid the panels use is the one Grafana provisions.
ds_text = read(DATASOURCES)
if HAVE_YAML:
    try:
        ds_doc = yaml.safe_load(ds_text)
        ds_uids = {d.get("uid") for d in ds_doc.get("datasources", [])}
        ds_urls = {d.get("url") for d in ds_doc.get("datasources", [])}
    except Exception as e:  # noqa: BLE001
        fail(f"{DATASOURCES} parses as YAML", e)
        ds_uids, ds_urls = set(), set()
else:
    ds_uids = set(re.findall(r"^\s*uid:\s*['\"]?([\w-]+)", ds_text, re.M))
    ds_urls = set(re.findall(r"^\s*url:\s*['\"]?(\S+?)['\"]?\s*$", ds_text, re.M))
check("http://prometheus:9090" in ds_urls, "Grafana datasource points at prometheus:9090",
      f"urls = {ds_urls}")

bad_layout, bad_ds, no_targets = [], [], []
exprs = []  # (panel title, expr)
for p in all_panels:
    title = p.get("title", f"id {p.get('id')}")
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")) or g["x"] + g["w"] > 24:
        bad_layout.append(title)
    if p.get("type") == "row":
        continue
    targets = p.get("targets", [])
    if not targets:
        no_targets.append(title)
    for holder in [p] + targets:
        uid = (holder.get("datasource") or {}).get("uid")
        if uid is not None and uid not in ds_uids:
            bad_ds.append(f"{title}: {uid}")
    for t in targets:
        e = t.get("expr", "")
        if not e.strip():
            no_targets.append(f"{title} ({t.get('refId')})")
        else:
            exprs.append((title, e))
check(not bad_layout, "every panel has a gridPos within 24 columns", bad_layout)
check(not no_targets, "every panel has PromQL targets", no_targets)
check(not bad_ds, f"panels use the provisioned datasource uid {sorted(ds_uids)}", bad_ds)

for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    if v.get("type") == "query" and q:
        exprs.append((f"variable ${v.get('name')}", q))

check(len(exprs) > 0, "dashboard has expressions")
unknown, used = [], set()
for title, e in exprs:
    for name in METRIC_RE.findall(e):
        base = metric_base(name)
        if base is None:
            unknown.append(f"{title}: {name}")
        else:
            used.add(base)
check(not unknown, "every prover_ metric on the dashboard is one proverd exports", unknown)
missing = sorted(EXPORTED - used)
check(not missing, "every metric proverd exports is on the dashboard", missing)

unbalanced = [f"{t}: {e}" for t, e in exprs if not balanced(e)]
check(not unbalanced, "dashboard expressions have balanced brackets and quotes", unbalanced)
bad_hq = [f"{t}: {e}" for t, e in exprs
          if "histogram_quantile" in e and not ("_bucket" in e and re.search(r"\ble\b", e))]
check(not bad_hq, "histogram_quantile uses _bucket series aggregated by le", bad_hq)
bad_rate = [f"{t}: {e}" for t, e in exprs
            for m in re.findall(r"\b(?:rate|increase)\(\s*(prover_[A-Za-z0-9_]+)", e)
            if metric_base(m) in GAUGES]
check(not bad_rate, "rate()/increase() only on counters and histogram series", bad_rate)

# ------------------------------------------------------------------ docker-compose.yml
compose_text = read(COMPOSE)
mount_sources = []  # (service, source) for bind mounts with a relative path
named_mounts = []
if HAVE_YAML:
    try:
        compose = yaml.safe_load(compose_text)
        ok(f"{COMPOSE} parses as YAML")
    except Exception as e:  # noqa: BLE001
        fail(f"{COMPOSE} parses as YAML", e)
        compose = {}
    services = compose.get("services", {}) or {}
    check(set(services) >= {"proverd", "prometheus", "grafana"},
          "compose has services proverd, prometheus and grafana", sorted(services))
    for name, svc in services.items():
        for vol in svc.get("volumes", []) or []:
            src = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":")[0]
            tgt = vol.get("target", "") if isinstance(vol, dict) else str(vol).split(":")[1]
            if src.startswith((".", "/")):
                mount_sources.append((name, src, tgt))
            else:
                named_mounts.append((name, src))
    declared = set((compose.get("volumes") or {}).keys())
    undeclared = [f"{s}: {v}" for s, v in named_mounts if v not in declared]
    check(not undeclared, "named volumes are declared", undeclared)
    pv = services.get("proverd", {})
    ctx = (pv.get("build") or {}).get("context", "") if isinstance(pv.get("build"), dict) else pv.get("build", "")
    ctx_dir = os.path.normpath(os.path.join(DEPLOY, ctx or "."))
    check(os.path.isfile(os.path.join(ctx_dir, "Dockerfile")),
          "proverd's build context holds the Dockerfile", f"context {ctx!r} -> {ctx_dir}")
    devices = (((pv.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    check(any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or []) for d in devices),
          "proverd reserves the NVIDIA GPUs", devices)
    check(any(str(v).split(":")[:2] == ["prover-data", "/var/lib/prover"]
              for v in pv.get("volumes", []) or []),
          "proverd keeps its data in the prover-data volume at /var/lib/prover")
    grace = str(pv.get("stop_grace_period", ""))
    ports = " ".join(str(p) for p in pv.get("ports", []) or [])
    grafana_env = (services.get("grafana", {}) or {}).get("environment", {}) or {}
    if isinstance(grafana_env, list):
        grafana_env = dict(x.split("=", 1) for x in grafana_env)
    anon = str(grafana_env.get("GF_AUTH_ANONYMOUS_ENABLED", "")).lower()
    check(anon == "false", "Grafana anonymous access is off", f"GF_AUTH_ANONYMOUS_ENABLED = {anon!r}")
else:
    for m in re.finditer(r"^\s*-\s*['\"]?(\.{1,2}/[^:'\"\s]+):([^:'\"\s]+)", compose_text, re.M):
        mount_sources.append(("?", m.group(1), m.group(2)))
    for svc in ("proverd:", "prometheus:", "grafana:"):
        check(re.search(rf"^  {svc}\s*$", compose_text, re.M) is not None, f"compose has service {svc[:-1]}")
    check(re.search(r"driver:\s*nvidia", compose_text) is not None, "proverd reserves the NVIDIA GPUs")
    check("prover-data:/var/lib/prover" in compose_text,
          "proverd keeps its data in the prover-data volume at /var/lib/prover")
    m = re.search(r"stop_grace_period:\s*(\S+)", compose_text)
    grace = m.group(1) if m else ""
    ports = compose_text
    check(re.search(r"GF_AUTH_ANONYMOUS_ENABLED:\s*['\"]?false", compose_text) is not None,
          "Grafana anonymous access is off")

missing_src = [f"{s}: {src}" for s, src, _ in mount_sources
               if not os.path.exists(os.path.normpath(os.path.join(DEPLOY, src)))]
check(mount_sources and not missing_src, "every file the compose file mounts exists", missing_src)
for need in ["./proverd.conf", "./api-keys.txt", "./prometheus/prometheus.yml"]:
    check(any(src == need for _, src, _ in mount_sources), f"compose mounts {need}")
check(any(src.startswith("./grafana/provisioning") for _, src, _ in mount_sources),
      "compose mounts the Grafana provisioning")
check(any(src.startswith("./grafana/dashboards") for _, src, _ in mount_sources),
      "compose mounts the Grafana dashboards")
check("50051:50051" in ports and "9464:9464" in ports, "proverd publishes ports 50051 and 9464")

# The dashboard provider reads the folder the compose file mounts the dashboards at.
prov_text = read(PROVIDERS)
if HAVE_YAML:
    try:
        prov = yaml.safe_load(prov_text)
        prov_paths = {(p.get("options") or {}).get("path") for p in prov.get("providers", [])}
    except Exception as e:  # noqa: BLE001
        fail(f"{PROVIDERS} parses as YAML", e)
        prov_paths = set()
else:
    prov_paths = set(re.findall(r"^\s*path:\s*['\"]?(\S+?)['\"]?\s*$", prov_text, re.M))
dash_targets = {t.rstrip("/") for _, src, t in mount_sources if src.startswith("./grafana/dashboards")}
dash_targets |= {os.path.dirname(t) for t in dash_targets if t.endswith(".json")}
check(bool(prov_paths & dash_targets), "Grafana's dashboard provider reads the mounted dashboards",
      f"provider paths {prov_paths}, mounts {dash_targets}")

# Prometheus scrapes proverd's metrics port every 5 s.
prom_text = read(PROMETHEUS)
if HAVE_YAML:
    try:
        prom = yaml.safe_load(prom_text)
        jobs = prom.get("scrape_configs", [])
        hit = [j for j in jobs
               if any("proverd:9464" in (sc.get("targets") or []) for sc in j.get("static_configs", []))]
        check(bool(hit) and hit[0].get("scrape_interval") == "5s",
              "Prometheus scrapes proverd:9464 every 5s", hit)
    except Exception as e:  # noqa: BLE001
        fail(f"{PROMETHEUS} parses as YAML", e)
else:
    check("proverd:9464" in prom_text and re.search(r"scrape_interval:\s*5s", prom_text) is not None,
          "Prometheus scrapes proverd:9464 every 5s")

# ------------------------------------------------------------------ proverd.conf
conf = {}
bad_lines = []
for n, line in enumerate(read(CONF).splitlines(), 1):
    s = line.split("#", 1)[0].strip()
    if not s:
        continue
    m = re.fullmatch(r"([a-z0-9][a-z0-9-]*)\s*=\s*(\S.*)", s)
    if not m or m.group(1) in conf:
        bad_lines.append(f"line {n}: {line}")
    else:
        conf[m.group(1)] = m.group(2).strip()
check(not bad_lines, f"{CONF} is one unique 'key = value' per line", bad_lines)
want_keys = ["listen", "metrics-listen", "data-dir", "api-keys", "engine", "cpu-jobs",
             "retention-hours", "max-message-bytes", "max-upload-bytes",
             "max-queued-per-tenant", "max-running-per-tenant", "rate-limit", "drain-timeout-s"]
check(not [k for k in want_keys if k not in conf], f"{CONF} sets every documented key",
      [k for k in want_keys if k not in conf])
mounted = {t for _, _, t in mount_sources}
check(conf.get("api-keys") in mounted, "the api-keys file proverd reads is the one compose mounts",
      f"api-keys = {conf.get('api-keys')}, mounts {sorted(mounted)}")
m = re.fullmatch(r"(\d+)s", grace)
drain = conf.get("drain-timeout-s", "")
check(bool(m) and drain.isdigit() and int(drain) < int(m.group(1)),
      "stop_grace_period leaves the drain time to finish",
      f"stop_grace_period = {grace!r}, drain-timeout-s = {drain!r}")

# ------------------------------------------------------------------ api-keys.txt
bad_keys, tenants = [], []
for n, line in enumerate(read(KEYS).splitlines(), 1):
    s = line.split("#", 1)[0].strip()
    if not s:
        continue
    m = re.fullmatch(r"(\S+)\s+([0-9a-f]{64})", s)
    if not m:
        bad_keys.append(f"line {n}: {line}")
    else:
        tenants.append(m.group(1))
check(not bad_keys, f"{KEYS} is 'TENANT SHA256_HEX' per line", bad_keys)
check(not tenants, f"{KEYS} ships with no active key (no example key can be left working)",
      tenants)
# Nothing without authentication or TLS listens beyond loopback, Grafana has no default
# password, every service's log is rotated, Compose v1 can read the file.
check(not re.search(r"^name:", compose_text, re.M), "no top-level name: (Compose v1 refuses it)")
published = re.findall(r'^\s*-\s*"([^"]+:\d+:\d+)"', compose_text, re.M)
check(published and all(p.startswith("127.0.0.1:") for p in published),
      "every published port is on the host's loopback", published)
check("GRAFANA_ADMIN_PASSWORD:?" in compose_text and "GRAFANA_ADMIN_PASSWORD:-" not in compose_text,
      "Grafana has no default admin password")
check(compose_text.count("logging: *logging") == 3, "every service's log is rotated")
check(compose_text.count("healthcheck:") >= 2, "Prometheus and Grafana have health checks")

# ------------------------------------------------------------------ Dockerfile
dockerfile = read("Dockerfile")
listen_port = conf.get("listen", "").rsplit(":", 1)[-1]
metrics_port = conf.get("metrics-listen", "").rsplit(":", 1)[-1]
joined = dockerfile.replace("\\\n", " ")  # continuation lines joined
hc = re.search(r"^HEALTHCHECK .*$", joined, re.M)
check(hc is not None and f"127.0.0.1:{listen_port}" in hc.group(0) and "health" in hc.group(0),
      "the HEALTHCHECK dials the configured listen port", hc.group(0) if hc else "no HEALTHCHECK")
ex = re.search(r"^EXPOSE\s+(.*)$", dockerfile, re.M)
check(ex is not None and {listen_port, metrics_port} <= set(ex.group(1).split()),
      "the Dockerfile exposes the API and metrics ports", ex.group(0) if ex else "no EXPOSE")

# ------------------------------------------------------------------ promtool, when present
promtool = shutil.which("promtool")
if promtool:
    r = subprocess.run([promtool, "check", "config", "--syntax-only", PROMETHEUS],
                       capture_output=True, text=True)
    if r.returncode != 0 and "syntax-only" in (r.stderr + r.stdout):
        r = subprocess.run([promtool, "check", "config", PROMETHEUS], capture_output=True, text=True)
    check(r.returncode == 0, f"promtool check config {PROMETHEUS}", r.stdout + r.stderr)
    # The alert rules: valid, and their unit tests pass.
    alerts_dir = os.path.dirname(PROMETHEUS)
    r = subprocess.run([promtool, "check", "rules", os.path.join(alerts_dir, "alerts.yml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, "promtool check rules alerts.yml", r.stdout + r.stderr)
    r = subprocess.run([promtool, "test", "rules", "alerts_test.yml"], cwd=alerts_dir,
                       capture_output=True, text=True)
    check(r.returncode == 0, "promtool test rules alerts_test.yml", r.stdout + r.stderr)
    # Every expression as a recording rule, with Grafana's variables replaced.
    subst = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "1m",
             "$workload": ".*", "$engine": ".*"}
    rules = []
    for i, (title, e) in enumerate(exprs):
        if e.startswith("label_values("):
            continue
        for k, v in subst.items():
            e = e.replace(k, v)
        rules.append({"record": f"dashboard:expr_{i}", "expr": e})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
        path = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        check(r.returncode == 0, f"promtool parses the {len(rules)} dashboard expressions",
              r.stdout + r.stderr)
    finally:
        os.unlink(path)

# ------------------------------------------------------------- the cluster compose file
cluster_path = "deploy/docker-compose.cluster.yml"
cluster_text = open(cluster_path).read()
for mount in sorted(set(re.findall(r"-\s+(\./[^:\s]+):", cluster_text))):
    check(os.path.exists(os.path.join("deploy", mount)), f"{cluster_path} mounts {mount}, which exists")
node_ids = re.findall(r'"--node-id", "([^"]+)"', cluster_text)
check(len(node_ids) == 3 and len(set(node_ids)) == 3, f"{cluster_path}: three nodes, distinct ids",
      node_ids)
check(cluster_text.count('"--cluster"') == 3, f"{cluster_path}: every node runs --cluster")
check("POSTGRES_PASSWORD_FILE: /run/secrets/db_password" in cluster_text and
      cluster_text.count('"--database-password-file", "/run/secrets/db_password"') == 3,
      f"{cluster_path}: the database password is a secret, for PostgreSQL and every node")
lb = open("deploy/nginx/grpc-lb.conf").read()
check(sorted(re.findall(r"server (node-[a-z]+):50051;", lb)) == sorted(node_ids),
      "deploy/nginx/grpc-lb.conf balances over exactly the cluster's nodes")
prom = open("deploy/prometheus/prometheus-cluster.yml").read()
check(all(f"{n}:9464" in prom for n in node_ids), "prometheus-cluster.yml scrapes every node")
if HAVE_YAML:
    import yaml
    try:
        doc = yaml.safe_load(cluster_text)
        check(set(doc["services"]) >= set(node_ids) | {"postgres", "gateway"},
              f"{cluster_path} parses, with postgres, the gateway and the nodes")
    except Exception as e:  # noqa: BLE001
        fail(f"{cluster_path} parses as YAML", e)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
