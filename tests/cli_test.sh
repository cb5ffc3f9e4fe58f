#!/usr/bin/env bash
# The offline CLI end to end: prove, verify (accept and reject), inspect, check, export and
# the --air/--trace path, exit statuses 0 yes, 1 no, 2 usage, 3 input, no partial output
# files.
set -u
BIN="${1:?usage: cli_test.sh BUILD_BIN_DIR}"
P="$BIN/prover"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fails=0
expect() {  # expect STATUS DESCRIPTION -- command...
  local want="$1" what="$2"
  shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [[ "$got" != "$want" ]]; then
    echo "FAIL: $what: exit $got, want $want"
    sed 's/^/  | /' "$WORK/err" | tail -5
    fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
}
contains() {  # contains FILE TEXT DESCRIPTION
  if ! grep -q -- "$2" "$WORK/$1"; then
    echo "FAIL: $3: '$2' not in $1"
    sed 's/^/  | /' "$WORK/$1" | tail -5
    fails=$((fails + 1))
  fi
}

expect 0 "prove fibonacci 2^12" -- "$P" prove --workload fibonacci --log-rows 12 --out "$WORK/fib.proof"
contains err "main_commit" "progress by stage on stderr"
expect 0 "verify fibonacci 2^12" -- "$P" verify --workload fibonacci --log-rows 12 "$WORK/fib.proof"
contains out "accepted" "verify prints accepted"
expect 1 "verify against another height" -- "$P" verify --workload fibonacci --log-rows 11 "$WORK/fib.proof"
contains err "proof rejected" "rejection reason"
expect 0 "verify --json" -- "$P" verify --workload fibonacci --log-rows 12 --json "$WORK/fib.proof"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["accepted"] is True and d["security_bits"] == 100 and d["proven_security_bits"] == 57 and d["reason"] == ""' "$WORK/out" \
  || { echo "FAIL: verify --json schema"; fails=$((fails + 1)); }
expect 1 "verify --json rejected" -- "$P" verify --workload fibonacci --log-rows 11 --json "$WORK/fib.proof"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["accepted"] is False and d["reason"]' "$WORK/out" \
  || { echo "FAIL: verify --json rejection"; fails=$((fails + 1)); }
expect 1 "verify with other public inputs" -- "$P" verify --workload fibonacci --log-rows 12 --public-inputs 0,1,5 "$WORK/fib.proof"
cp "$WORK/fib.proof" "$WORK/bad.proof"
printf '\x01' | dd of="$WORK/bad.proof" bs=1 seek=200 conv=notrunc status=none
expect 1 "verify a corrupted proof" -- "$P" verify --workload fibonacci --log-rows 12 "$WORK/bad.proof"
expect 0 "inspect" -- "$P" inspect "$WORK/fib.proof"
contains out '"security_bits": 100' "inspect shows security bits"
contains out '"proven_security_bits": 57' "inspect shows proven security bits"
contains out '"fri_paths"' "inspect shows section sizes"
contains out '"first_layer": "virtual"' "inspect shows the first FRI layer (auto: virtual for fibonacci)"
expect 0 "prove with a committed first layer" -- "$P" prove --workload fibonacci --log-rows 12 --first-layer committed --out "$WORK/committed.proof"
expect 0 "verify it" -- "$P" verify --workload fibonacci --log-rows 12 "$WORK/committed.proof"
expect 0 "inspect it" -- "$P" inspect "$WORK/committed.proof"
contains out '"first_layer": "committed"' "inspect shows a committed first layer"
expect 2 "unknown first layer" -- "$P" prove --workload fibonacci --log-rows 4 --first-layer sometimes --out "$WORK/x"
contains err "--first-layer: 'sometimes'" "first layer message"
expect 2 "virtual first layer without a fold" -- "$P" prove --workload fibonacci --log-rows 1 --first-layer virtual --out "$WORK/x"
contains err "params.first_layer: virtual" "no-fold message"
head -c 100 "$WORK/fib.proof" >"$WORK/cut.proof"
expect 3 "inspect a truncated proof" -- "$P" inspect "$WORK/cut.proof"
expect 3 "inspect a missing file" -- "$P" inspect "$WORK/missing.proof"
expect 3 "verify a missing proof file" -- "$P" verify --workload fibonacci --log-rows 12 "$WORK/missing.proof"
expect 2 "unknown flag" -- "$P" prove --workload fibonacci --log-rows 4 --out "$WORK/x" --bogus 1
expect 2 "unknown workload" -- "$P" prove --workload nope --out "$WORK/x"
expect 2 "security floor" -- "$P" prove --workload fibonacci --log-rows 4 --queries 4 --out "$WORK/x"
contains err "below the minimum" "floor message"
expect 2 "proven floor" -- "$P" prove --workload fibonacci --log-rows 4 --min-proven-security 80 --out "$WORK/x"
contains err "bits is below the minimum 80" "proven floor message"
expect 2 "unknown preset" -- "$P" prove --workload fibonacci --log-rows 4 --security proven-256 --out "$WORK/x"
contains err "unknown preset" "preset message"
expect 2 "preset with explicit parameters" -- "$P" prove --workload fibonacci --log-rows 4 --security proven-100 --queries 50 --out "$WORK/x"
expect 0 "prove with the proven-100 preset" -- "$P" prove --workload fibonacci --log-rows 8 --security proven-100 --out "$WORK/proven.proof"
contains err "of proven security" "prove reports both figures"
expect 0 "verify it with a proven floor" -- "$P" verify --workload fibonacci --log-rows 8 --min-proven-security 100 "$WORK/proven.proof"
expect 1 "the default proof under a proven floor" -- "$P" verify --workload fibonacci --log-rows 12 --min-proven-security 100 "$WORK/fib.proof"
contains err "proven security 57 bits is below the minimum 100" "verifier proven floor message"
[[ -e "$WORK/x" || -e "$WORK/x.tmp" ]] && { echo "FAIL: partial output file left"; fails=$((fails + 1)); }
expect 2 "unknown command" -- "$P" frobnicate
expect 0 "prove with every option" -- "$P" prove --workload fibonacci --log-rows 10 --blowup 4 --queries 40 --grinding 20 --arity 16 --final-size 16 --threads 1 --out "$WORK/fib2.proof"
expect 0 "verify it" -- "$P" verify --workload fibonacci --log-rows 10 "$WORK/fib2.proof"

expect 0 "prove zkvm scale 10" -- "$P" prove --workload zkvm --scale 10 --seed 3 --out "$WORK/zkvm.proof"
expect 0 "verify zkvm scale 10" -- "$P" verify --workload zkvm --scale 10 --seed 3 "$WORK/zkvm.proof"
expect 1 "zkvm with another seed" -- "$P" verify --workload zkvm --scale 10 --seed 4 "$WORK/zkvm.proof"

expect 0 "export zkvm" -- "$P" export --workload zkvm --scale 10 --seed 3 --air-out "$WORK/air.json" --trace-out "$WORK/trace.bin" --public-inputs-out "$WORK/pi.txt"
expect 0 "check user AIR" -- "$P" check --air "$WORK/air.json" --trace "$WORK/trace.bin" --public-inputs "@$WORK/pi.txt"
expect 0 "prove user AIR" -- "$P" prove --air "$WORK/air.json" --trace "$WORK/trace.bin" --public-inputs "@$WORK/pi.txt" --out "$WORK/user.proof"
expect 0 "verify user AIR" -- "$P" verify --air "$WORK/air.json" --public-inputs "@$WORK/pi.txt" "$WORK/user.proof"
cmp -s "$WORK/user.proof" "$WORK/zkvm.proof" || { echo "FAIL: user-AIR proof differs from the builtin one"; fails=$((fails + 1)); }

# A trace that breaks a constraint: check lists it, prove refuses naming it.
"$P" export --workload fibonacci --log-rows 6 --air-out "$WORK/fib.json" --trace-out "$WORK/fib.bin" --public-inputs-out "$WORK/fib.pi" >/dev/null
expect 1 "check wrong public inputs" -- "$P" check --air "$WORK/fib.json" --trace "$WORK/fib.bin" --public-inputs 0,1,7
contains out "constraints\[4\] (result)" "check names the constraint"
expect 1 "prove refuses" -- "$P" prove --air "$WORK/fib.json" --trace "$WORK/fib.bin" --public-inputs 0,1,7 --out "$WORK/refused.proof"
contains err "row 63" "prove names the row"
[[ -e "$WORK/refused.proof" ]] && { echo "FAIL: refused proof written"; fails=$((fails + 1)); }
expect 3 "non-canonical public input" -- "$P" check --air "$WORK/fib.json" --trace "$WORK/fib.bin" --public-inputs 0,1,18446744073709551615
contains err "public_inputs\[2\]" "path of the bad public input"
head -c 100 "$WORK/fib.bin" >"$WORK/short.bin"
expect 3 "truncated trace" -- "$P" check --air "$WORK/fib.json" --trace "$WORK/short.bin" --public-inputs "@$WORK/fib.pi"

# Help for every command (exit 0, on stdout), and the version with the commit.
for cmd in prove verify check inspect export submit status wait watch cancel list fetch info health; do
  for flag in --help -h; do
    expect 0 "$cmd $flag" -- "$P" "$cmd" "$flag"
    contains out "usage: prover $cmd" "$cmd $flag prints its usage"
  done
done
expect 0 "help after other flags" -- "$P" prove --workload fibonacci --help
expect 0 "-h" -- "$P" -h
contains out "prover COMMAND --help" "the overview names per-command help"
expect 0 "--version" -- "$P" --version
if ! grep -Eq '^prover [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-z-]+\)$' "$WORK/out"; then
  echo "FAIL: --version prints 'prover X.Y.Z (commit C)'"; sed 's/^/  | /' "$WORK/out"; fails=$((fails + 1))
fi
if [[ -x "$BIN/proverd" ]]; then
  expect 0 "proverd --version" -- "$BIN/proverd" --version
  contains out "proverd " "proverd --version prints its name"
fi

if [[ $fails -ne 0 ]]; then
  echo "$fails failures"
  exit 1
fi
echo "all CLI checks passed"
