#!/usr/bin/env bash
# Schemathesis against a freshly started seatflow-local (`make api-fuzz`):
# the seats API as the demo admin, its operator routes with the operator key,
# and the checkout API; every check, the phases scripts/schemathesis.toml
# enables (it says what is left out, and why). A fixed seed keeps CI
# repeatable; SEED=random (or a number) explores further. One worker:
# schemathesis 4.32.5 with several threads sometimes fails inside
# hypothesis (an "AST constructor recursion depth mismatch"), not in a test.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SEATFLOW_LOCAL:-target/debug/seatflow-local}
ST=.venv-schemathesis/bin/schemathesis
SEED=${SEED:-20261129}
STATE=$(mktemp -d -t seatflow-fuzz.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"

SEATFLOW_STATE_DIR="$STATE" "$BIN" --addr "127.0.0.1:$PORT" >"$STATE/server.log" 2>&1 &
SERVER=$!
stop() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$STATE"
}
trap stop EXIT
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$STATE/server.log" >&2; exit 1; }
    sleep 0.1
done

TOKEN=$(SEATFLOW_STATE_DIR="$STATE" "$BIN" token --role admin)
OPERATOR=$(SEATFLOW_STATE_DIR="$STATE" "$BIN" operator-key)
seed=()
[ "$SEED" = random ] || seed=(--seed "$SEED")
run() {
    "$ST" --config-file scripts/schemathesis.toml run "$@" \
        --checks all --max-examples 25 --workers 1 "${seed[@]}"
}
echo "== seats API, as the demo organisation's admin"
run "$BASE/v1/openapi.json" -H "Authorization: Bearer $TOKEN" --exclude-path-regex '^/v1/operator/'
echo "== seats API, operator routes, with the operator key"
run "$BASE/v1/openapi.json" -H "Authorization: Bearer $OPERATOR" --include-path-regex '^/v1/operator/'
echo "== checkout API, as the demo organisation's admin"
run "$BASE/v1/checkout/openapi.json" -H "Authorization: Bearer $TOKEN"
