#!/usr/bin/env bash
# The test command (npm test): host setup, typecheck, then every test under test/ in a private
# network namespace (only lo: nothing leaves the machine, and fixed SIP ports cannot collide with
# another suite). Exits with vitest's exit code, or 1 if only the typecheck failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || exit 1

typecheck=0
npx tsc -p tsconfig.json --noEmit || { typecheck=1; echo "test: typecheck failed" >&2; }
npx tsc -p web/tsconfig.json || { typecheck=1; echo "test: dashboard typecheck failed" >&2; }
# The dashboard the browser tests open, built as npm start builds it.
npx vite build --config web/vite.config.ts || { echo "test: dashboard build failed" >&2; exit 1; }

mkdir -p test-results
rm -f test-results/vitest.json
unshare -n bash -c 'ip link set lo up && exec npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest.json'
code=$?

if [ "$code" -ne 0 ]; then exit "$code"; fi
exit "$typecheck"
