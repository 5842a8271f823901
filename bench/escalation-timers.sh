#!/usr/bin/env bash
# Escalation timers: 100,000 pending escalation steps (1,000 public incidents, each escalating
# for its provider and 99 customers) come due over a few minutes on one cirhub server run
# with the settings of scripts/run.sh. Measures how late each step ran (p50, p99, max), the
# server's CPU while idle with every step pending, and a SIGKILL and restart with every step
# pending: each step must run exactly once (one notice, one stream event). Writes
# bench/results/escalation-timers-DB.txt and exits non-zero if a target is missed.
# Usage: bench/escalation-timers.sh [sqlite|postgres]
# Environment: CUSTOMERS (99), INCIDENTS (1000), WAIT_MIN (12: the first due step, minutes
# after its incident), SPREAD (4: customer k waits WAIT_MIN + k mod SPREAD minutes), REPORT,
# SERVER_CPUS / CLIENT_CPUS (taskset lists; default the first half of the CPUs for the server).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-sqlite}"
customers="${CUSTOMERS:-99}" incidents="${INCIDENTS:-1000}" wait="${WAIT_MIN:-12}" spread="${SPREAD:-4}"
case "$kind" in
  sqlite) scripts/setup.sh run ;;
  postgres) scripts/setup.sh test ;;
  *) echo "usage: bench/escalation-timers.sh [sqlite|postgres]" >&2; exit 2 ;;
esac
cargo build --release -q -p cirhub-server
source bench/cpus.sh
out="${REPORT:-bench/results/escalation-timers-$kind.txt}"
mkdir -p bench/results target/bench
work="$(mktemp -d)" && chmod 755 "$work"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ "$kind" = postgres ] && scripts/pg.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
export CIRHUB_DATA_DIR="$work" CIRHUB_ADDR="127.0.0.1:$port" CIRHUB_LOG_FORMAT="${CIRHUB_LOG_FORMAT:-pretty}"
if [ "$kind" = postgres ]; then
  export DATABASE_URL="$(PG_DURABLE=1 scripts/pg.sh start "$work/pg" "$(free_port)")"
  db="$DATABASE_URL"
else
  db="$work/cirhub.db"
fi
sql() { python3 bench/escalation/sql.py "$db" "$1"; }
base="http://127.0.0.1:$port" bin=target/release/cirhub log=target/bench/escalation-timers-$kind.log
export CIRHUB_NEW_PASSWORD=bench-password-123
$bin admin create-org --slug bench --name "Bench Cloud" --provider >/dev/null
$bin admin create-user --org bench --email admin@bench.example --name Bench --role admin >/dev/null
for k in $(seq 0 $((customers - 1))); do
  $bin admin create-org --slug "c$k" --name "Customer $k" --customer >/dev/null
  $bin admin create-user --org "c$k" --email "admin@c$k.example" --name "Admin $k" --role admin >/dev/null
done
start() {
  RUST_LOG="${RUST_LOG:-info}" taskset -c "$server_cpus" $bin serve >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "cirhub did not start:" >&2; tail "$log" >&2; exit 1
}
: >"$log"
start
world=$(taskset -c "$client_cpus" python3 bench/escalation/populate.py "$base" "$customers" "$incidents" "$wait" "$spread")
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$world" "$1"; }
expected=$(field escalations) first_due=$(field first_due) last_due=$(field last_due) populate_s=$(field populate_s)
# Every first step has run (they write nothing but the second step's row).
while [ "$(sql "SELECT COUNT(*) FROM jobs WHERE kind = 'escalation.step' AND key LIKE '%:0' AND state <> 'done'")" != 0 ]; do sleep 1; done
drained=$(date +%s.%N)
pending=$(sql "SELECT COUNT(*) FROM jobs WHERE kind = 'escalation.step' AND state = 'pending'")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
idle_s=$(python3 -c "print(max(0, min(60, int($first_due - $drained - 20))))")
idle_cpu="n/a"
if [ "$idle_s" -ge 10 ]; then
  t0=$(ticks); sleep "$idle_s"; t1=$(ticks)
  idle_cpu=$(python3 -c "print(f'{100 * ($t1 - $t0) / $hz / $idle_s:.2f}')")
fi
# SIGKILL with every step pending, and a restart on the same database.
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
start
after=$(sql "SELECT COUNT(*) FROM jobs WHERE kind = 'escalation.step' AND state = 'pending'")
now=$(date +%s)
sleep "$(python3 -c "print(max(0, int($last_due - $now + 30)))")"
while [ "$(sql "SELECT COUNT(*) FROM jobs WHERE kind = 'escalation.step' AND state <> 'done'")" != 0 ]; do sleep 2; done
notices=$(sql "SELECT COUNT(*) FROM escalation_notices WHERE step = 1")
frames=$(sql "SELECT COUNT(*) FROM events WHERE kind = 'escalation.notice'")
sql "SELECT queued_at - due_at FROM escalation_notices WHERE step = 1" >"$work/late.txt"
{
  echo "# bench/escalation-timers.sh $kind  ($(date -u +%Y-%m-%dT%H:%MZ), $cpus cores, $(uname -m))"
  echo "server on CPUs $server_cpus (RUST_LOG=${RUST_LOG:-info}), populate and probes on CPUs $client_cpus; nothing else running"
  echo "database: $kind$([ "$kind" = postgres ] && echo ' (fsync and synchronous commit on)')"
  echo "$customers customers x $incidents incidents: $expected escalations; populated in ${populate_s%.*} s"
  python3 - "$work/late.txt" "$expected" "$pending" "$after" "$notices" "$frames" "$idle_cpu" "$idle_s" <<'PY'
import sys
late = sorted(int(l) for l in open(sys.argv[1]) if l.strip())
expected, pending, after, notices, frames = map(int, sys.argv[2:7])
idle_cpu, idle_s = sys.argv[7], sys.argv[8]
pct = lambda q: late[min(len(late) - 1, int(q * len(late)))] / 1000 if late else float("nan")
p50, p99, mx = pct(0.5), pct(0.99), (late[-1] / 1000 if late else float("nan"))
print(f"pending steps before the kill: {pending}; after the restart: {after}")
print(f"lateness of {len(late)} steps: p50 {p50:.3f} s, p99 {p99:.3f} s, max {mx:.3f} s")
print(f"server CPU while idle with every step pending: {idle_cpu} % over {idle_s} s")
print(f"notices written: {notices}, stream events: {frames} (expected {expected} each)")
checks = [
    ("every escalation had its step pending, before and after the kill", pending == expected and after == expected),
    ("each step ran exactly once (notices and events)", notices == expected and frames == expected),
    ("p99 lateness under 1 s", p99 < 1.0),
    ("idle CPU under 1 %", idle_cpu != "n/a" and float(idle_cpu) < 1.0),
]
for name, ok in checks:
    print(f"{name}: {'yes' if ok else 'NO'}")
ok = all(c for _, c in checks)
print("verdict:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
} | tee "$out"
