#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, store conformance on SQLite and a throwaway
# PostgreSQL, end-to-end through the real server, process-level crash tests) and the Node
# SDK compatibility suite against the real binary. Prints one closing summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/quorate-target}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== npm packages (SDK tests; ganache for the withdrawal tests)"
if (cd sdk-tests && npm ci --no-audit --no-fund >/dev/null); then
  export QUORATE_SDK_INSTALLED=1
else
  echo "npm ci failed"; status=1
fi

echo "== cargo test --workspace"
cargo test --workspace 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Node SDK compatibility (@turnkey/http, @turnkey/sdk-server)"
if cargo build -p quorate-cli >/dev/null 2>&1; then
  QUORATE_BIN="$CARGO_TARGET_DIR/debug/quorate" ./sdk-tests/run.sh 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
  echo "cannot build the quorate binary"; status=1
fi

echo "== OpenAPI contract of /v1 (schemathesis)"
QUORATE_BIN="$CARGO_TARGET_DIR/debug/quorate" ./scripts/contract.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Export/import bundles against @turnkey/crypto"
node sdk-tests/tools/bundle-check.mjs 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Fuzz: transaction and payload parsers (bounded: 5 s per target)"
if cargo run -q -p xtask -- fuzz --seconds 5 2>&1 | tee -a "$log"; then
  echo "fuzz: 1 passed, 0 failed" | tee -a "$log"
else
  echo "fuzz: 0 passed, 1 failed" | tee -a "$log"; status=1
fi

passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{p+=$4; f+=$6} END {print p+0}')
failed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{p+=$4; f+=$6} END {print f+0}')
node_passed=$(grep -Eo '^(sdk-tests|bundle-check|fuzz|contract): [0-9]+ passed, [0-9]+ failed' "$log" | awk '{p+=$2} END {print p+0}')
node_failed=$(grep -Eo '^(sdk-tests|bundle-check|fuzz|contract): [0-9]+ passed, [0-9]+ failed' "$log" | awk '{f+=$4} END {print f+0}')
passed=$((passed + ${node_passed:-0}))
failed=$((failed + ${node_failed:-0}))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "total: $passed passed, $failed failed"
exit "$status"
