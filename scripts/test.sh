#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration suite (real server over HTTP, real
# headless Chromium) on SQLite and again on a throwaway PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
set -e
scripts/setup.sh test
scripts/build-frontend.sh
set +e

export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" CHROME="${CHROME:-/usr/bin/chromium}"
export RUST_BACKTRACE=0
work="$(mktemp -d)"
chmod 755 "$work" # the PostgreSQL server runs as the postgres user
pgdir="$work/pg"
cleanup() { scripts/pg.sh stop "$pgdir"; rm -rf "$work"; }
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
pg_url="$(scripts/pg.sh start "$pgdir" "$port")" || { echo "could not start PostgreSQL" >&2; exit 1; }

status=0
run() {
  echo; echo "=== $1"; shift
  "$@" 2>&1 | tee -a "$work/out.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
}
run "unit tests" cargo test --lib
run "integration tests on SQLite" cargo test -p cirhub-server --test integration -- --test-threads=2
run "integration tests on PostgreSQL" env CIRHUB_TEST_PG_URL="$pg_url" \
  cargo test -p cirhub-server --test integration -- --test-threads=2

# Fuzz every API operation from the OpenAPI document: no input may produce a 5xx.
fuzz() {
  local port dir token
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  dir="$work/fuzz"
  CIRHUB_DATA_DIR="$dir" CIRHUB_ADDR="127.0.0.1:$port" CIRHUB_DEMO_PASSWORD=fuzz-password-123 \
    CIRHUB_LOGIN_MAX_FAILURES=1000000 RUST_LOG=warn target/debug/cirhub serve --demo >"$work/fuzz.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  token="$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@nimbus.example","password":"fuzz-password-123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" --checks not_a_server_error --max-examples 30 \
    --exclude-path /api/v1/auth/logout --seed 1
  local rc=$?
  kill "$pid"
  return $rc
}
echo; echo "=== API fuzzing (schemathesis, no 5xx for any generated input)"
fuzz || status=1

passed=$(grep -Eo '[0-9]+ passed' "$work/out.log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$work/out.log" | awk '{s+=$1} END {print s+0}')
echo
echo "$passed passed, $failed failed"
exit $status
