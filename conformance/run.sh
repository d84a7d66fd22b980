#!/usr/bin/env bash
# Conformance: the unmodified official Python SDK (alter-sdk, pinned in requirements.txt) against
# cmd/altervault-dev. Makes the venv, builds and starts the server on a free loopback port, runs the
# pytest suite with the server's exports, stops the server, and fails on a failed or skipped test or
# on any contract violation the server saw. pytest's summary line is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/devserver.sh
source scripts/devserver.sh
# shellcheck source=../scripts/sdkvenv.sh
source scripts/sdkvenv.sh
GO="${GO:-go}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

sdk_venv
py="$SDK_PYTHON"

tmp="$(mktemp -d)"
pid=""
stop_server() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$GO" build -o "$tmp/altervault-dev" ./cmd/altervault-dev
"$tmp/altervault-dev" -addr 127.0.0.1:0 >"$tmp/env" 2>"$tmp/stderr" &
pid=$!

# The server prints its exports, then "ready on" on stderr.
wait_ready conformance "$pid" "$tmp/stderr" || exit 1

# Only well-formed `export NAME=value` lines are taken (values never echoed: they hold keys).
while IFS= read -r line; do
  if [[ "$line" =~ ^export\ ([A-Z_][A-Z0-9_]*)=(.*)$ ]]; then
    export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  fi
done <"$tmp/env"
: "${ALTER_BASE_URL:?altervault-dev printed no ALTER_BASE_URL}"

set +e
"$py" -m pytest -c conformance/pytest.ini conformance "$@" 2>&1 | tee "$tmp/pytest.log"
rc=${PIPESTATUS[0]}
set -e

# Violations the server recorded, asked while it still runs.
violations="$("$py" - "$ALTER_BASE_URL" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/_dev/violations", timeout=10) as r:
        v = json.load(r)
except Exception as e:  # a dev API that does not answer is a failure too
    print(f"GET /_dev/violations failed: {e}")
    sys.exit(0)
if not isinstance(v, list):
    print(f"GET /_dev/violations answered a non-list: {v!r}")
for item in v if isinstance(v, list) else []:
    print(item)
EOF
)"
stop_server

fail=0
if [[ -n "$violations" ]]; then
  echo "conformance: FAIL: /_dev/violations is not empty:" >&2
  echo "$violations" >&2
  fail=1
fi
if grep -q 'contract violation' "$tmp/stderr"; then
  echo "conformance: FAIL: altervault-dev logged contract violations:" >&2
  grep 'contract violation' "$tmp/stderr" >&2
  fail=1
fi
summary="$(grep -E '^=+ .* in [0-9.]+s.* =+$' "$tmp/pytest.log" | tail -n 1 || true)"
if [[ -z "$summary" ]]; then
  echo "conformance: FAIL: pytest printed no summary line" >&2
  fail=1
elif grep -qE 'skipped|xfailed|xpassed|deselected|no tests ran' <<<"$summary"; then
  echo "conformance: FAIL: every test must run (no skip, xfail or deselection)" >&2
  fail=1
fi
if [[ $rc -ne 0 ]]; then
  echo "conformance: FAIL: pytest exited with $rc" >&2
  fail=1
fi
echo "$summary"
exit $fail
