#!/usr/bin/env bash
# OpenAPI contract check of the management API: starts a fresh quorate (SQLite, temp dir) and
# runs schemathesis (PyPI, installed into a venv beside the build cache) against every /v1
# operation of /openapi.json: no 5xx, documented status codes, content type and headers, and
# answers valid against their schemas. Prints "contract: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="$(realpath "${QUORATE_BIN:-${CARGO_TARGET_DIR:-/var/tmp/quorate-target}/debug/quorate}")"
VENV="${QUORATE_VENV:-/var/tmp/quorate-venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis==4.32.5" || {
    echo "contract: 0 passed, 1 failed (cannot install schemathesis)"; exit 1; }
fi
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$BIN" init --data-dir "$dir" --json > "$dir/init.json" || { echo "contract: 0 passed, 1 failed (init)"; exit 1; }
secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secretKey"])' "$dir/init.json")
# A high limit: the run measures the contract, not the limiter.
"$BIN" serve --data-dir "$dir" --listen "127.0.0.1:$port" --rate-limit-secret 1000000/1s > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
# Operations that may revoke, rotate or narrow the very key the run uses are left to the Rust
# end-to-end tests (they would turn the rest of the run into 401s).
# schemathesis keeps a cache directory where it runs: run it in the temp dir.
(cd "$dir" && timeout 600 "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --url "http://127.0.0.1:$port" -H "Authorization: Bearer $secret" \
  --include-path-regex '^/v1/' --exclude-path-regex '/api-keys/\{key_id\}(/rotations)?$' \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${CONTRACT_EXAMPLES:-10}" --seed 1 --no-color) > "$dir/run.log" 2>&1
status=$?
grep -vE '^\s*$' "$dir/run.log" | tail -40
if [ "$status" -eq 0 ]; then echo "contract: 1 passed, 0 failed"; else echo "contract: 0 passed, 1 failed"; fi
exit "$status"
