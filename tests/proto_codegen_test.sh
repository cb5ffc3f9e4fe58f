#!/usr/bin/env bash
# The API's protos generate clients in other languages with Debian's own tools: protoc (3.21,
# proto3 `optional` included) and the gRPC plugins of protobuf-compiler-grpc. Python's stubs
# are generated and byte-compiled here (docs/API.md, "Clients in other languages").
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PROTOS=(prover/v1/prover.proto prover/v1/air.proto prover/v1/proof.proto)
mkdir -p "$WORK/py" "$WORK/ruby" "$WORK/php" "$WORK/java"
protoc -I "$SRC/proto" --python_out="$WORK/py" --grpc_python_out="$WORK/py" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" "${PROTOS[@]}"
protoc -I "$SRC/proto" --ruby_out="$WORK/ruby" --grpc_ruby_out="$WORK/ruby" \
  --plugin=protoc-gen-grpc_ruby="$(command -v grpc_ruby_plugin)" "${PROTOS[@]}"
protoc -I "$SRC/proto" --php_out="$WORK/php" --java_out="$WORK/java" "${PROTOS[@]}"
for f in prover_pb2.py prover_pb2_grpc.py air_pb2.py proof_pb2.py; do
  [ -s "$WORK/py/prover/v1/$f" ] || { echo "FAIL: no $f"; exit 1; }
done
python3 -m py_compile "$WORK"/py/prover/v1/*.py
# The options other languages use are set (the Java package, Go's import path).
[ -d "$WORK/java/dev/prover/v1" ] || { echo "FAIL: java_package"; exit 1; }
grep -q 'go_package = "prover/v1;proverv1"' "$SRC/proto/prover/v1/prover.proto" \
  || { echo "FAIL: go_package"; exit 1; }
echo "protos generate Python, Ruby, PHP and Java clients"
