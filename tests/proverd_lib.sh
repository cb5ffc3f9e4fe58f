# Sourced by the shell tests that run a real proverd. Needs BIN (the binaries' directory).
# Gives WORK (a temporary directory removed on exit with every started process), fail, and
# start_proverd DATA_DIR [flags...], which sets GRPC and METRICS to the bound addresses.
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$WORK"/*.log; do [ -f "$log" ] && tail -20 "$log" >&2; done
  exit 1
}
start_proverd() {
  local data="$1"; shift
  rm -f "$WORK/ready"
  "$BIN/proverd" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$data" \
    --ready-file "$WORK/ready" "$@" 2>>"$WORK/proverd.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -f "$WORK/ready" ] && break; sleep 0.05; done
  [ -f "$WORK/ready" ] || fail "proverd did not start"
  GRPC="$(sed -n 's/^grpc=//p' "$WORK/ready")"
  METRICS="$(sed -n 's/^metrics=//p' "$WORK/ready")"
}
