#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks.
#   scripts/pg.sh start DIR PORT   prints the admin URL postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg.sh stop DIR
# Tests run it without fsync (nothing survives a machine crash, and tests need none);
# PG_DURABLE=1 keeps PostgreSQL's defaults (fsync, synchronous commit), as benchmarks must.
# As root the server runs as the postgres user, which must be able to reach DIR's parent.
set -euo pipefail
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bin" ] || { echo "pg.sh: no PostgreSQL server installed (scripts/setup.sh test)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    [ $# -eq 3 ] || { echo "usage: scripts/pg.sh start DIR PORT" >&2; exit 2; }
    dir="$(realpath -m "$2")" port="$3" # absolute: the socket directory is resolved by the server
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fast="-c fsync=off -c synchronous_commit=off"
    [ "${PG_DURABLE:-0}" = 1 ] && fast=""
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $fast -c max_connections=300" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "${2:-}/data/postmaster.pid" ] || exit 0
    as_pg "$bin/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: scripts/pg.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
