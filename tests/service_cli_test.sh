#!/usr/bin/env bash
# The remote CLI against a real proverd: submit -> wait -> fetch -> verify (the README's
# walkthrough), watch, status, list, cancel, env variables, error lines and exit codes,
# and TLS with a certificate made here by openssl.
set -euo pipefail
BIN="${1:?usage: service_cli_test.sh BIN_DIR}"
source "$(dirname "$0")/proverd_lib.sh"

KEY=cli-test-key
printf 'ops %s\n' "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" > "$WORK/keys.txt"

start() {  # start DATA_DIR [flags...]: sets ADDR
  start_proverd "$@"
  ADDR="$GRPC"
}

start "$WORK/data" --api-keys "$WORK/keys.txt"
P="$BIN/prover"

# The walkthrough, with the environment variables.
export PROVER_SERVER="$ADDR" PROVER_API_KEY="$KEY"
JOB="$("$P" submit --workload fibonacci --log-rows 12 | tail -n 1)"
[[ "$JOB" =~ ^j[0-9a-f]{32}$ ]] || fail "submit printed '$JOB'"
"$P" wait "$JOB" > "$WORK/wait.txt" || fail "wait"
grep -q SUCCEEDED "$WORK/wait.txt" || fail "wait output: $(cat "$WORK/wait.txt")"
"$P" fetch "$JOB" --out "$WORK/fib.proof" 2>/dev/null || fail "fetch"
"$P" verify --workload fibonacci --log-rows 12 "$WORK/fib.proof" | grep -q accepted || fail "verify"
"$P" status "$JOB" | grep -q SUCCEEDED || fail "status"
"$P" status "$JOB" --json | grep -q '"state": "SUCCEEDED"' || fail "status --json"
"$P" watch "$JOB" 2>/dev/null | grep -q SUCCEEDED || fail "watch of a finished job"
"$P" list | grep -q "$JOB" || fail "list"
"$P" list --state FAILED | grep -q "$JOB" && fail "list --state FAILED shows a SUCCEEDED job"
"$P" list --state succeeded | grep -q "$JOB" || fail "list --state in lower case"
"$P" --server="$ADDR" --api-key="$KEY" status "$JOB" | grep -q SUCCEEDED || fail "--server=HOST:PORT"
"$P" --server "$ADDR" --api-key "$KEY" info | grep -q '"commit"' || fail "info shows the commit"
# One server: `nodes` lists it alone, as the node that answered, serving.
"$P" nodes > "$WORK/nodes.txt" || fail "nodes"
[ "$(wc -l < "$WORK/nodes.txt")" -eq 2 ] && grep -q "$ADDR .*serving (answered)" "$WORK/nodes.txt" \
  || fail "nodes output: $(cat "$WORK/nodes.txt")"
"$P" nodes --json | python3 -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; assert len(rows) == 1 and rows[0]["address"] and rows[0]["engines"] == ["cpu"] and rows[0]["draining"] is False, rows' \
  || fail "nodes --json"
# --json everywhere: the proto3 JSON of the message, every field present.
J="$("$P" submit --workload fibonacci --log-rows 5 --json)" || fail "submit --json"
JID="$(printf '%s' "$J" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["deduplicated"] is False and d["job"]["state"] in ("QUEUED","RUNNING","SUCCEEDED"); print(d["job"]["job_id"])')" \
  || fail "submit --json schema: $J"
"$P" wait "$JID" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] == "SUCCEEDED" and "proof_sha256" in d and "cause" in d' \
  || fail "wait --json"
"$P" watch "$JID" --json | python3 -c 'import json,sys; lines=[json.loads(l) for l in sys.stdin]; assert lines and lines[-1]["state"] == "SUCCEEDED"' \
  || fail "watch --json (JSON lines, final state last)"
"$P" cancel "$JID" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] == "SUCCEEDED"' \
  || fail "cancel --json of a finished job"
"$P" submit --workload fibonacci --log-rows 5 --wait --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] == "SUCCEEDED"' \
  || fail "submit --wait --json prints the final job"

# submit --wait --out in one go; the flags before the command instead of the environment.
unset PROVER_SERVER PROVER_API_KEY
JOB2="$("$P" --server "$ADDR" --api-key "$KEY" submit --workload zkvm --scale 10 --wait \
        --out "$WORK/zk.proof" 2>/dev/null | tail -n 1)"
"$P" verify --workload zkvm --scale 10 "$WORK/zk.proof" | grep -q accepted || fail "zkvm proof"
"$P" --server "$ADDR" --api-key "$KEY" status "$JOB2" | grep -q SUCCEEDED || fail "zkvm status"
# The first FRI layer chosen on the command line reaches the server's prover.
"$P" --server "$ADDR" --api-key "$KEY" submit --workload fibonacci --log-rows 8 --first-layer committed \
  --wait --out "$WORK/committed.proof" >/dev/null 2>&1 || fail "submit --first-layer committed"
"$P" inspect "$WORK/committed.proof" | grep -q '"first_layer": "committed"' || fail "the server's proof has a committed first layer"
"$P" verify --workload fibonacci --log-rows 8 "$WORK/committed.proof" | grep -q accepted || fail "committed-layer proof"

# A user AIR and trace, exported by the offline CLI and submitted.
"$P" export --workload fibonacci --log-rows 9 --air-out "$WORK/air.json" \
  --trace-out "$WORK/trace.bin" --public-inputs-out "$WORK/pi.txt" 2>/dev/null
"$P" --server "$ADDR" --api-key "$KEY" submit --air "$WORK/air.json" --trace "$WORK/trace.bin" \
  --public-inputs "@$WORK/pi.txt" --out "$WORK/user.proof" >/dev/null 2>&1 || fail "user submit"
"$P" verify --air "$WORK/air.json" --public-inputs "@$WORK/pi.txt" "$WORK/user.proof" \
  | grep -q accepted || fail "user proof"

# Errors: one line, non-zero status.
set +e
ERR="$("$P" --server "$ADDR" --api-key wrong status "$JOB" 2>&1 >/dev/null)"; RC=$?
set -e
[ "$RC" -eq 4 ] || fail "wrong key exit $RC (want 4: the service refused the caller)"
[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "error is not one line: $ERR"
[[ "$ERR" == *UNAUTHENTICATED* ]] || fail "wrong key: $ERR"
set +e
ERR="$("$P" --server "$ADDR" --api-key "$KEY" submit --workload nope --log-rows 3 2>&1)"; RC=$?
set -e
[ "$RC" -eq 3 ] && [[ "$ERR" == *"builtin.workload: unknown workload 'nope'"* ]] || fail "unknown workload: $RC $ERR"
set +e
"$P" --server "$ADDR" --api-key "$KEY" status 2>/dev/null; RC=$?
set -e
[ "$RC" -eq 2 ] || fail "usage error exit $RC"
set +e
"$P" status "$JOB" 2>/dev/null; RC=$?   # no server given anywhere
set -e
[ "$RC" -eq 2 ] || fail "missing server exit $RC"

# Cancel a queued job (the single CPU slot is busy with a large one).
BIG="$("$P" --server "$ADDR" --api-key "$KEY" submit --workload fibonacci --log-rows 20 | tail -n 1)"
SMALL="$("$P" --server "$ADDR" --api-key "$KEY" submit --workload fibonacci --log-rows 5 --priority -5 | tail -n 1)"
"$P" --server "$ADDR" --api-key "$KEY" cancel "$SMALL" | grep -q CANCELLED || fail "cancel queued"
"$P" --server "$ADDR" --api-key "$KEY" cancel "$BIG" >/dev/null
set +e
"$P" --server "$ADDR" --api-key "$KEY" wait "$BIG" >/dev/null; RC=$?
set -e
[ "$RC" -eq 1 ] || fail "wait on a cancelled job exit $RC"

# TLS: a self-signed certificate for localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
start "$WORK/data-tls" --api-keys "$WORK/keys.txt" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
TJOB="$("$P" --server "$ADDR" --api-key "$KEY" --tls-ca "$WORK/tls.crt" submit --workload fibonacci \
        --log-rows 6 --wait 2>/dev/null | tail -n 1)"
[[ "$TJOB" =~ ^j[0-9a-f]{32}$ ]] || fail "submit over TLS printed '$TJOB'"
set +e
"$P" --server "$ADDR" --api-key "$KEY" status "$TJOB" >/dev/null 2>"$WORK/tls.err"; RC=$?   # plaintext to a TLS port
set -e
[ "$RC" -ne 0 ] || fail "plaintext call to a TLS server succeeded"
# One line from the CLI, none of gRPC's own.
[ "$(wc -l <"$WORK/tls.err")" -eq 1 ] && grep -q '^prover: ' "$WORK/tls.err" \
  || fail "the TLS mismatch is not one prover line: $(cat "$WORK/tls.err")"

# --insecure-loopback refuses anything but loopback.
set +e
"$BIN/proverd" --insecure-loopback --listen 0.0.0.0:0 --data-dir "$WORK/x" 2>/dev/null; RC=$?
set -e
[ "$RC" -eq 2 ] || fail "--insecure-loopback on 0.0.0.0 exit $RC"
# The example deployment config is accepted (its paths and addresses overridden).
CONF="$(dirname "$0")/../deploy/proverd.conf"
start "$WORK/data-conf" --config "$CONF" --api-keys "$WORK/keys.txt" --data-dir "$WORK/data-conf"
"$P" --server "$ADDR" --api-key "$KEY" info | grep -q '"max_queued_per_tenant": 1000' || fail "config"
echo "service CLI test: OK"
