#!/usr/bin/env bash
# make bench: builds altervault-dev, makes the official Python SDK's venv (the conformance one,
# scripts/sdkvenv.sh), and runs TestBenchTable (and TestEmulatorCost, altervault-dev's own cost,
# where it exists) in the bench module. Arguments go to `go test`.
# ALTER_BENCH_QUICK=1 makes a short run (a developer's check that the harness works).
set -euo pipefail  # pipefail: a failed go test fails the run through the tee
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/sdkvenv.sh
source scripts/sdkvenv.sh
export GO="${GO:-go}" # TestEmulatorCost builds altervault-dev with it too
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

sdk_venv
if [[ "${ALTER_BENCH_QUICK:-}" == 1 ]]; then
	# TestEmulatorCost's own short mode (emulator_test.go), unless asked otherwise.
	export ALTER_BENCH_EMULATOR_CALLS="${ALTER_BENCH_EMULATOR_CALLS:-20000}"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$GO" build -o "$tmp/altervault-dev" ./cmd/altervault-dev
cd bench
"$GO" build -o "$tmp/benchdriver" ./cmd/benchdriver
ALTER_BENCH=1 ALTER_BENCH_DEV="$tmp/altervault-dev" ALTER_BENCH_GODRIVER="$tmp/benchdriver" ALTER_BENCH_PYTHON="$SDK_PYTHON" \
	"$GO" test -run '^(TestBenchTable|TestEmulatorCost)$' -count=1 -v -timeout 0 . "$@" | tee "$tmp/log"
# go test's own lines follow the table: the summary line is repeated last, for scripts.
grep '^bench: cpu python/facade ' "$tmp/log" | tail -n 1
