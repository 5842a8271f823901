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

passed=$(grep -Eo '[0-9]+ passed' "$work/out.log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$work/out.log" | awk '{s+=$1} END {print s+0}')
echo
echo "$passed passed, $failed failed"
exit $status
