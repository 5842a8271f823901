#!/usr/bin/env bash
# WebSocket fan-out: 10,000 subscribers across 100 customer organisations on one cirhub
# server, one provider update, delivery latency at the clients; the same fan-out through a
# bare tokio-tungstenite broadcast server as the floor; resident memory per idle connection.
# Usage: bench/ws-fanout.sh [--connections N] [--orgs M]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
cargo build --release -q -p cirhub-server -p cirhub-bench
mkdir -p bench/results
out=bench/results/ws-fanout.txt
{
  echo "# bench/ws-fanout.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m))"
  target/release/ws-fanout --cirhub target/release/cirhub "$@"
} | tee "$out"
