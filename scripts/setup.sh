#!/usr/bin/env bash
# Idempotent host setup for a fresh Debian 12 machine, as root: host packages, node_modules, and
# the Asterisk sandbox (a cached Debian sid chroot). Quiet on success; on failure it says what
# failed and prints the tail of the log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .sandbox
LOG="$PWD/.sandbox/setup.log"
: >"$LOG"

fail() {
  echo "setup: $1 (log: $LOG)" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

[ "$(id -u)" = 0 ] || { echo "setup: run as root (apt-get, debootstrap and chroot need it)" >&2; exit 1; }

# Host tools: debootstrap builds the sandbox; sipp (sip-tester), ffmpeg, sox, tcpdump drive and
# inspect calls; iproute2 (ip, ss) and util-linux (unshare) give tests a private network namespace;
# systemd's systemd-analyze checks the units production runs; unzip reads the privacy exports back;
# postgresql gives the tests a private PostgreSQL server (test/support/postgresServer.ts); the package's
# own cluster is not used (it may be stopped).
PACKAGES=(debootstrap sip-tester ffmpeg iproute2 tcpdump util-linux sox ca-certificates chromium systemd unzip postgresql)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >>"$LOG" 2>&1 || fail "apt-get update failed"
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
    fail "apt-get install ${missing[*]} failed"
fi

command -v node >/dev/null || fail "node is not installed (Node 20 or later is required)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  fail "Node 20 or later is required (found $(node --version))"

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means
# the dependencies changed since.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >>"$LOG" 2>&1 || fail "npm ci failed"
fi

npx tsx scripts/asterisk-sandbox.ts provision >>"$LOG" 2>&1 || fail "provisioning the Asterisk sandbox failed"
