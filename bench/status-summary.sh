#!/usr/bin/env bash
# Read throughput of cirhub's documents, like for like, under wrk on loopback:
#  A. the public summary (GET /status/{provider}/api/v2/summary.json) with cirhub's default
#     per-request log (RUST_LOG=info) against nginx serving the same bytes with its access log
#     on; B. the same pair, both quiet (RUST_LOG=warn, access_log off);
#  C/D. a customer's personal feed summary, alone and with concurrent incident updates;
#  E/F. an authenticated read of a non-public incident (a disclosure per read), alone and
#     with concurrent incident updates.
# Writes bench/results/status-summary.txt and exits non-zero if a target is missed, a
# response is not 2xx, or wrk saw a socket error.
#   bench/status-summary.sh [wrk duration per measurement, default 10s] [rounds, default 3]
# Environment: REPORT (where the report goes, default bench/results/status-summary.txt),
# WRITE_RATE (updates/s in D and F, default 20), RATIO_TARGET (default 0.7),
# READS_TARGET (default 20000), SERVER_CPUS / CLIENT_CPUS (taskset lists; default: the first
# half of the CPUs for the server, the rest for wrk and the writer), SCENARIOS (the letters to
# run, default "A B C D E F"; e.g. SCENARIOS=E for the authenticated read alone), CONNS (wrk
# connections, default 64). SERVER_CPUS=0-1 CLIENT_CPUS=0-1 lets server and load share both
# cores, as a single machine serving its own clients does.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10s}" rounds="${2:-3}"
threads=1 conns="${CONNS:-64}"
scenarios="${SCENARIOS:-A B C D E F}"
want() { [[ " ${scenarios//,/ } " == *" $1 "* ]]; }
write_rate="${WRITE_RATE:-20}" ratio_target="${RATIO_TARGET:-0.7}" reads_target="${READS_TARGET:-20000}"
scripts/setup.sh bench
cargo build --release -p cirhub-server

source bench/cpus.sh
count_cpus() { taskset -c "$1" nproc; }
server_n=$(count_cpus "$server_cpus")
on_clients() { taskset -c "$client_cpus" "$@"; }

work="$(mktemp -d)"
chmod 755 "$work" # nginx workers run as another user
logs=target/bench && mkdir -p "$logs"
res="$work/results" && mkdir -p "$res"
pids=() cirhub_pid=""
cleanup() { for p in "${pids[@]}" $cirhub_pid; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)" nport="$(free_port)" qport="$(free_port)"
# As scripts/run.sh: its log format (pretty unless set), output to a file.
log_format="${CIRHUB_LOG_FORMAT:-pretty}"
export CIRHUB_DATA_DIR="$work" CIRHUB_ADDR="127.0.0.1:$port" CIRHUB_LOG_FORMAT="$log_format"
base="http://127.0.0.1:$port"
bin=target/release/cirhub
$bin admin create-org --slug bench --name "Bench Cloud" --provider >/dev/null
$bin admin create-org --slug acme --name "Acme Corp" --customer >/dev/null
CIRHUB_NEW_PASSWORD=bench-password-123 $bin admin create-user --org bench --email admin@bench.example --name Bench --role admin >/dev/null
CIRHUB_NEW_PASSWORD=bench-password-123 $bin admin create-user --org acme --email admin@acme.example --name Acme --role admin >/dev/null

# (Background jobs are started with taskset directly, so that \$! is the server's own pid.)
# Starts cirhub on the server CPUs with RUST_LOG=$1, its output to $logs/status-summary-cirhub-$2.log.
start_cirhub() {
  RUST_LOG="$1" taskset -c "$server_cpus" $bin serve >"$logs/status-summary-cirhub-$2.log" 2>&1 &
  cirhub_pid=$!
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "cirhub did not start:" >&2; cat "$logs/status-summary-cirhub-$2.log" >&2; exit 1
}
stop_cirhub() { kill "$cirhub_pid"; wait "$cirhub_pid" 2>/dev/null || true; cirhub_pid=""; }

start_cirhub info logged
python3 bench/status-summary/populate.py "$base" >"$work/world.json"
get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/world.json" "$1"; }
public=$(get public) feed=$(get feed) incident=$(get incident) incident_id=$(get incident_id)
internal_id=$(get internal_id) reader=$(get reader) writer=$(get writer) auditor=$(get auditor)

mkdir -p "$work/www$(dirname "$public")"
curl -sf "$base$public" -o "$work/www$public"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len([c for c in d['components'] if not c['group']])==50 and len(d['incidents'])==10, 'unexpected summary'" "$work/www$public"
size() { curl -sf "$@" | wc -c; }
bytes_public=$(size "$base$public")
bytes_feed=$(size "$base$feed")
bytes_incident=$(size -H "authorization: Bearer $reader" "$base$incident")

# One nginx, two sites: the same file with the access log on (default format, to a file) and off.
cat >"$work/nginx.conf" <<NGINX
worker_processes $server_n;
error_log $work/nginx-error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  default_type application/json;
  sendfile on;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp; uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$nport; root $work/www; access_log $work/nginx-access.log; }
  server { listen 127.0.0.1:$qport; root $work/www; access_log off; }
}
NGINX
mkdir -p "$work/tmp"
taskset -c "$server_cpus" nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$qport$public" >/dev/null && break; sleep 0.1; done
for p in $nport $qport; do
  cmp <(curl -sf "http://127.0.0.1:$p$public") <(curl -sf "$base$public") || { echo "nginx and cirhub serve different bytes" >&2; exit 1; }
done

# measure NAME ROUND URL [wrk options…]: a 2 s warm-up, then the measurement, on the client CPUs.
measure() {
  local name=$1 r=$2 url=$3; shift 3
  on_clients wrk -t$threads -c$conns -d2s --latency "$@" "$url" >"$res/$name.r$r.warm.txt"
  on_clients wrk -t$threads -c$conns -d"$duration" --latency "$@" "$url" >"$res/$name.r$r.txt"
  echo "  $name: $(awk '/Requests\/sec/ {print $2}' "$res/$name.r$r.txt") requests/s" >&2
}
# with_writes NAME ROUND URL [wrk options…]: measure while the writer posts WRITE_RATE updates/s.
with_writes() {
  local name=$1 r=$2
  taskset -c "$client_cpus" python3 bench/status-summary/writer.py "$base" "$writer" "$internal_id" "$write_rate" "$res/$name.r$r.writes.json" &
  local w=$!
  measure "$@"
  kill -TERM "$w"; wait "$w" || true
}
disclosed() {
  curl -sf -H "authorization: Bearer $auditor" "$base/api/v1/audit/disclosures?object_id=$incident_id&per_page=1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}
# counted RUNNER NAME ROUND URL…: also the disclosures of the read incident before and after
# (after: once the count has stopped moving for a second, at most 15 s).
counted() {
  local runner=$1 name=$2 r=$3 before after prev
  before=$(disclosed)
  "$runner" "${@:2}"
  prev=-1 after=$(disclosed)
  for _ in $(seq 15); do [ "$after" = "$prev" ] && break; sleep 1; prev=$after after=$(disclosed); done
  echo "$before $after" >"$res/$name.r$r.disclosed"
}

echo "phase 1: cirhub RUST_LOG=info (its default), nginx access log on" >&2
auth=(-H "authorization: Bearer $reader")
for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  if want A; then
    measure public-logged.cirhub "$r" "$base$public"
    measure public-logged.nginx "$r" "http://127.0.0.1:$nport$public"
  fi
  if want C; then measure feed "$r" "$base$feed"; fi
  if want D; then with_writes feed-writes "$r" "$base$feed"; fi
  if want E; then counted measure read "$r" "$base$incident" "${auth[@]}"; fi
  if want F; then counted with_writes read-writes "$r" "$base$incident" "${auth[@]}"; fi
done
stop_cirhub

if want B; then
  echo "phase 2: both quiet (cirhub RUST_LOG=warn, nginx access_log off)" >&2
  start_cirhub warn quiet
  for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    measure public-quiet.cirhub "$r" "$base$public"
    measure public-quiet.nginx "$r" "http://127.0.0.1:$qport$public"
  done
  stop_cirhub
fi

workers="actix-web workers: one per CPU it may use ($server_n)"
python3 - "$work/meta.json" <<PY
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%MZ)", "rounds": $rounds, "duration": "$duration", "threads": $threads,
           "conns": $conns, "write_rate": $write_rate, "ratio_target": $ratio_target, "reads_target": $reads_target, "scenarios": "$scenarios",
           "machine": "$cpus cores, $(free -g | awk '/Mem/ {print $2}') GiB",
           "cores": "cirhub and nginx on CPU $server_cpus (one at a time under load, both running); wrk and the writer on CPU $client_cpus",
           "log_format": "$log_format", "workers": "$workers", "nginx_workers": $server_n,
           "bytes_public": $bytes_public, "bytes_feed": $bytes_feed, "bytes_incident": $bytes_incident}, open(sys.argv[1], "w"))
PY
report="${REPORT:-bench/results/status-summary.txt}"
mkdir -p "$(dirname "$report")"
status=0
python3 bench/status-summary/report.py "$res" "$work/meta.json" >"$work/report.txt" || status=$?
cp "$work/report.txt" "$report"
cat "$report"
exit "$status"
