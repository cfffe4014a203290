#!/usr/bin/env bash
# Runs the benchmark on an exported snapshot of a commit (default HEAD), so edits in progress in the
# working tree cannot change what is measured. Reuses this checkout's node_modules and Asterisk
# sandbox instances; results land in this checkout's bench/results/.
#   bash scripts/bench.sh [COMMIT] [-- bench args, e.g. --quick]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
commit="HEAD"
if [[ $# -gt 0 && "$1" != "--" ]]; then commit="$1"; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
sha="$(git -C "$repo" rev-parse "$commit")"
snap="$(mktemp -d /tmp/callroute-bench-src-XXXXXX)"
trap 'rm -rf "$snap"' EXIT
git -C "$repo" archive "$sha" | tar -x -C "$snap"
# The bench driver itself from the working tree (it may be newer than the commit measured).
rm -rf "$snap/bench" && cp -r "$repo/bench" "$snap/bench" && rm -rf "$snap/bench/results"
ln -s "$repo/node_modules" "$snap/node_modules"
mkdir -p "$repo/bench/results" && ln -s "$repo/bench/results" "$snap/bench/results"
cd "$snap"
CALLROUTE_SANDBOX_INSTANCES="$repo/.sandbox/instances" BENCH_COMMIT="$sha" node --import tsx bench/runBench.ts "$@"
