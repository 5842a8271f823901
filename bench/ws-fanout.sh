#!/usr/bin/env bash
# WebSocket fan-out: 10,000 subscribers across 100 customer organisations on one cirhub
# server run with the settings of scripts/run.sh, single provider updates and a burst of 20,
# delivery latency at the clients and the server's disclosure records; the same fan-out
# through a bare tokio-tungstenite broadcast server as the floor; memory per connection.
# Writes bench/results/ws-fanout.txt and exits non-zero if a target is missed.
# Usage: bench/ws-fanout.sh [--connections N] [--orgs M] [--rounds R] [--burst K] [--gap-ms MS]
# Environment: REPORT (where the report goes), SERVER_CPUS / CLIENT_CPUS (taskset lists;
# default: the first half of the CPUs for cirhub and the floor, the rest for the clients).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
# Two builds: the server alone, as scripts/run.sh builds it (building both at once would
# unify their dependencies' features into a different server binary), then the benchmark.
cargo build --release -q -p cirhub-server
cargo build --release -q -p cirhub-bench
mkdir -p bench/results
# Both sides keep all their clients connected at once: the client process holds twice the
# connections, more than a default limit of open files allows (raising it needs root).
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out="${REPORT:-bench/results/ws-fanout.txt}"
source bench/cpus.sh
{
  echo "# bench/ws-fanout.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $cpus cores, $(uname -m))"
  taskset -c "$client_cpus" target/release/ws-fanout --cirhub target/release/cirhub \
    --server-cpus "$server_cpus" "$@"
} | tee "$out" # pipefail: the benchmark's exit status is the script's
