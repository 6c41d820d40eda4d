#!/usr/bin/env bash
# Turnkey npm SDK compatibility suite for quorate.
# Env (passed through): QUORATE_BIN (default /var/tmp/quorate-target/debug/quorate).
# Exits non-zero if any test fails (or is cancelled, e.g. when the server cannot start).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ "${QUORATE_SDK_INSTALLED:-}" = 1 ]; then
  : # scripts/test.sh installed the packages already (the Rust tests use ganache from here).
elif [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
else
  npm install --no-audit --no-fund || exit 1
fi

tap="$(mktemp "${TMPDIR:-/tmp}/quorate-sdk-tests.XXXXXX.tap")"
trap 'rm -f "$tap"' EXIT

# spec for people on stdout, TAP to a file for the summary lines below.
# The whole run is bounded in time.
runner=(node --test
  --test-reporter=spec --test-reporter-destination=stdout
  --test-reporter=tap --test-reporter-destination="$tap"
  test/)
if command -v timeout >/dev/null 2>&1; then
  timeout --kill-after=30 900 "${runner[@]}"
else
  "${runner[@]}"
fi
rc=$?

# Node's own closing summary (# tests / # pass / # fail / # cancelled …).
echo
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tap" || true
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -1)
pass=${pass:-0}; fail=${fail:-0}; cancelled=${cancelled:-0}
failed=$((fail + cancelled))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "sdk-tests: ${pass} passed, ${failed} failed"
exit "$rc"
