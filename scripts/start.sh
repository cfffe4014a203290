#!/usr/bin/env bash
# The README's start command: sets up a fresh Debian 12 machine (as root) and runs the whole
# system on loopback: Asterisk sandbox, router + admin API, SQLite file. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

mkdir -p data
CONFIG_FILE="${CALLROUTE_CONFIG_FILE:-$PWD/data/callroute.env}"
if [ ! -f "$CONFIG_FILE" ]; then
  umask 077
  cat > "$CONFIG_FILE" <<CONF
# Written by the first start; edit and restart. Keys: docs/operations.md "Configuration".
CALLROUTE_DB_PATH=$PWD/data/callroute.db
CALLROUTE_ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
ARI_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
FALLBACK_MODE=reject
FALLBACK_SIP_CODE=503
CONF
  umask 022
fi
# Keys added since the file was written: the sandbox's filesystem as the router sees it, recordings.
grep -q '^ASTERISK_FS_ROOT=' "$CONFIG_FILE" || echo "ASTERISK_FS_ROOT=$PWD/.sandbox/instances/dev/rootfs" >> "$CONFIG_FILE"
grep -q '^RECORDINGS_DIR=' "$CONFIG_FILE" || echo "RECORDINGS_DIR=$PWD/data/recordings" >> "$CONFIG_FILE"
export CALLROUTE_CONFIG_FILE="$CONFIG_FILE"

echo "building"
npx tsc -p tsconfig.build.json
npx vite build --config web/vite.config.ts
npx tsx scripts/seedDemo.ts --sign-in-file data/first-sign-in.txt

npx tsx scripts/asterisk-sandbox.ts start --instance dev
stop_all() {
  [ -n "${ROUTER_PID:-}" ] && kill "$ROUTER_PID" 2>/dev/null && wait "$ROUTER_PID" 2>/dev/null || true
  # The supervisor gone without stopping its router (killed outright): stop that router too.
  if [ -f data/router.pid ]; then
    kill "$(cat data/router.pid)" 2>/dev/null || true
    rm -f data/router.pid
  fi
  npx tsx scripts/asterisk-sandbox.ts stop --instance dev || true
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# Supervised: a router that exits or crashes is started again (the log says why), while Asterisk
# keeps the calls in progress talking. ROUTER_PID is the supervisor's: stopping it stops the router.
node --enable-source-maps dist/scripts/superviseRouter.js --log data/router.log --pid-file data/router.pid -- node --enable-source-maps dist/src/main.js &
ROUTER_PID=$!
npx tsx scripts/waitForRouter.ts

TOKEN=$(grep '^CALLROUTE_ADMIN_TOKEN=' "$CONFIG_FILE" | cut -d= -f2-)
PORT=$(grep '^CALLROUTE_HTTP_PORT=' "$CONFIG_FILE" | cut -d= -f2- || true)
API="http://127.0.0.1:${PORT:-8080}"
cat <<INFO

callroute is running on loopback.
  dashboard      $API/app/   (sign in with a person below)
  admin API      $API/v1   (Authorization: Bearer $TOKEN)   API reference $API/docs
  health         curl -s $API/health
  Asterisk SIP   127.0.0.1:5060 (carrier trunk accepted from 127.0.0.1:5070; destinations on 127.0.0.1:5080)
  database       $PWD/data/callroute.db       router log: data/router.log
  recordings     $PWD/data/recordings (MP3 by default; GET /v1/recordings/:id/audio)
  config         $CONFIG_FILE

Place a test call (another terminal): sipp answers on the demo destination, sipp calls the demo number,
and the script checks routing, two-way audio and the call record:
  npx tsx scripts/callflow-check.ts --did +15551230000 --expect-destination +15550001111 --api $API --token $TOKEN

List the calls:
  curl -s -H "Authorization: Bearer $TOKEN" $API/v1/calls
INFO
if [ -f data/first-sign-in.txt ]; then
  cat <<INFO

People who can sign in (e-mail, password; kept in data/first-sign-in.txt until you delete it):
$(awk -F'\t' '{printf "  %-32s %-30s %s\n", $1, $2, $3}' data/first-sign-in.txt)
Sign in (a session cookie; docs/api.md "People and sign-in"), then see who you are:
  curl -s -c data/cookies.txt -H 'content-type: application/json' \\
    -d '{"email":"$(awk -F'\t' 'NR==1{print $2}' data/first-sign-in.txt)","password":"<password above>"}' $API/v1/auth/login
  curl -s -b data/cookies.txt $API/v1/auth/me
Change each password after the first sign-in (POST /v1/auth/password with the cookie and
-H "Origin: $API": cookie-signed writes must say where they come from), then delete the file.
INFO
fi
cat <<INFO

The router is supervised: if it exits or crashes it is started again (why: data/router.log and this
terminal), and calls in progress keep talking. Ctrl-C stops the router and Asterisk.
INFO
wait "$ROUTER_PID"
