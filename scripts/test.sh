#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration suite (real server over HTTP, real
# headless Chromium) on SQLite and again on a throwaway PostgreSQL, then the API fuzzer.
# Ends with one line "N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

section() { printf '\n=== %s\n' "$*"; }
section "setup"
scripts/setup.sh test || exit 1
section "frontend build"
scripts/build-frontend.sh || exit 1

export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" CHROME="${CHROME:-/usr/bin/chromium}"
export RUST_BACKTRACE=0
unset CIRHUB_TEST_PG_URL
work="$(mktemp -d)"
chmod 755 "$work" # the PostgreSQL server runs as the postgres user and must reach its directory
pgdir="$work/pg"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  scripts/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

section "PostgreSQL (throwaway cluster)"
pg_url="$(scripts/pg.sh start "$pgdir" "$(free_port)")" || {
  echo "could not start PostgreSQL:" >&2; cat "$pgdir/log" >&2 2>/dev/null; exit 1; }
echo "$pg_url"

status=0
broken=0 # stages that failed without a cargo "test result" line (build errors, fuzzing)
run() {
  local title="$1"; shift
  section "$title"
  local log="$work/run-$RANDOM.log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  cat "$log" >>"$work/results.log"
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -q '^test result: FAILED' "$log" || broken=$((broken + 1))
  fi
}
run "unit tests" cargo test --lib
run "integration tests on SQLite" cargo test -p cirhub-server --test integration -- --test-threads=2
run "integration tests on PostgreSQL" env CIRHUB_TEST_PG_URL="$pg_url" \
  cargo test -p cirhub-server --test integration -- --test-threads=2

# Fuzz every operation of the OpenAPI document (the JSON API and the public, feed,
# unsubscribe, stream and operations paths it describes), on SQLite and on PostgreSQL (the
# two disagree at the edges: NUL in text is an error only on PostgreSQL). No input may
# produce a 5xx, and the credential must still work afterwards: a fuzzer whose token died
# mid-run would only have seen 401s. The fuzzer is a person (user-only operations are
# reached) whose access token outlives the run.
fuzz() {
  local backend="$1" port token url rc
  port="$(free_port)"
  case "$backend" in
    sqlite) url="$work/fuzz-sqlite/cirhub.db" ;;
    postgres)
      url="${pg_url%/postgres}/fuzz"
      psql -q "$pg_url" -c 'CREATE DATABASE fuzz' || return 1 ;;
  esac
  CIRHUB_DATA_DIR="$work/fuzz-$backend" DATABASE_URL="$url" CIRHUB_ADDR="127.0.0.1:$port" \
    CIRHUB_DEMO_PASSWORD=fuzz-password-123 CIRHUB_LOGIN_MAX_FAILURES=1000000 RUST_LOG=warn \
    CIRHUB_ACCESS_TTL_SECS=7200 \
    target/debug/cirhub serve --demo >"$work/fuzz-$backend.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  token="$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@nimbus.example","password":"fuzz-password-123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')" || {
    echo "fuzz: the demo server did not start or refused the login:" >&2; cat "$work/fuzz-$backend.log" >&2; return 1; }
  # Run from the scratch directory so schemathesis and hypothesis leave no state in the repo.
  (cd "$work" && "$root/target/tools/venv/bin/schemathesis" run \
    "http://127.0.0.1:$port/api/v1/openapi.json" --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" --checks not_a_server_error --max-examples 30 \
    --exclude-path /api/v1/auth/logout --seed 1)
  rc=$?
  if ! curl -sf "http://127.0.0.1:$port/api/v1/me" -H "Authorization: Bearer $token" >/dev/null; then
    echo "fuzz ($backend): the fuzzer's credential stopped working during the run" >&2
    rc=1
  fi
  # cirhub's own errors only: actix-http logs a malformed request it answered 400 as ERROR.
  if grep '"level":"ERROR"' "$work/fuzz-$backend.log" | grep -q '"target":"cirhub'; then
    echo "fuzz ($backend): the server logged errors:" >&2
    grep '"level":"ERROR"' "$work/fuzz-$backend.log" | grep '"target":"cirhub' | head -5 >&2
    rc=1
  fi
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
  return $rc
}
for backend in sqlite postgres; do
  section "API fuzzing on $backend (schemathesis: no 5xx for any generated input)"
  if ! [ -x target/debug/cirhub ]; then
    echo "fuzz: target/debug/cirhub missing (the integration build failed)" >&2
    status=1 broken=$((broken + 1))
  elif ! fuzz "$backend"; then
    status=1 broken=$((broken + 1))
  fi
done

# Lints: formatting and clippy with warnings as errors, server and wasm frontend alike.
section "lints (rustfmt, clippy -D warnings)"
if ! { cargo fmt --all -- --check &&
  cargo clippy -q -p cirhub-server -p cirhub-shared -p cirhub-bench --all-targets -- -D warnings &&
  cargo clippy -q -p cirhub-frontend --target wasm32-unknown-unknown -- -D warnings; }; then
  status=1 broken=$((broken + 1))
fi

# Totals from cargo's "test result: ok. X passed; Y failed; ..." lines of every run.
read -r passed failed < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' \
  "$work/results.log" 2>/dev/null | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
failed=$((failed + broken))
[ "$failed" -eq 0 ] || status=1
section "summary"
[ "$broken" -eq 0 ] || echo "($broken stage(s) failed without a test result line; counted as failures)"
echo "$passed passed, $failed failed"
exit $status
