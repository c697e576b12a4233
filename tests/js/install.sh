#!/bin/sh
# tests/js/install.sh: the OpenTelemetry JS SDK packages that
# tests/sre-serve.bats drives, into tests/js/node_modules, at the versions
# package-lock.json pins.  Quiet and quick when they are already there.
# Exits non-zero when npm is missing or the registry cannot be reached
# (the tests then skip, saying so).
set -eu
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] &&
    [ node_modules/.package-lock.json -nt package-lock.json ]; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "tests/js: npm not found" >&2; exit 1; }
timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
