#!/usr/bin/env bash
# Indicator ingest and lookup, on SQLite, release build, as run.sh runs the product.
#  Ingest: `cirhub ioc import` of COUNT indicators (CSV; default 1,000,000) into a fresh
#    database, against its floor measured in the same run: the rows the import left
#    (objects, version bodies, version sequence, value index) inserted again into a fresh
#    database of the same schema and settings by one prepared statement per table in one
#    transaction (bench/ws-fanout/src/ingest_floor.rs). Target: at least 0.3 of the floor.
#  Lookup: COUNT indicators over ORGS organisations (COUNT/ORGS each, every organisation's
#    shared under its agreements) and AGREEMENTS bilateral agreements in force; single-value
#    lookups over HTTP with an API token (half the values held by someone, half by nobody):
#    the saturated rate with wrk (-c32), then the latency at a constant RATE (default
#    10,000/s) with oha (open loop, corrected for coordinated omission); then 1,000-value
#    batches. Targets: at least 10,000 lookups/s (wrk), p99 under 5 ms at 10,000/s (oha); a
#    1,000-value batch under 20 ms (median).
# Both processes, import and floor, run on the first CPU; for lookups the server runs on
# the first CPU and wrk (or oha) on the second (nothing else runs). Writes bench/results/ioc.txt;
# exits non-zero when a target is missed.
#   bench/ioc.sh      Environment: COUNT (default 1000000), ORGS (100), AGREEMENTS (300),
#                     DURATION (wrk and oha, default 10s), ROUNDS (3), RATE (10000), REPORT, SKIP_INGEST=1,
#                     SKIP_LOOKUP=1, HOLD (seconds to keep the lookup world up after)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${COUNT:-1000000}" orgs="${ORGS:-100}" agreements="${AGREEMENTS:-300}"
duration="${DURATION:-10s}" rounds="${ROUNDS:-3}" report="${REPORT:-bench/results/ioc.txt}"
rate="${RATE:-10000}"
scripts/setup.sh bench
cargo build --release -p cirhub-server -p cirhub-bench --bin cirhub --bin ingest-floor
bin=target/release/cirhub floor=target/release/ingest-floor
server_cpu=0 client_cpu=$(( $(nproc) > 1 ? 1 : 0 ))
work="$(mktemp -d)" pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CIRHUB_LOG_FORMAT="${CIRHUB_LOG_FORMAT:-pretty}" RUST_LOG=warn
out="$work/results.jsonl"
: >"$out"
pw=bench-password-123

if [ -z "${SKIP_INGEST:-}" ]; then
  python3 bench/ioc/gen.py "$work/ingest.csv" "$count" 0
  bytes=$(stat -c %s "$work/ingest.csv")
  export CIRHUB_DATA_DIR="$work/ingest"
  $bin admin create-org --slug bench --name "Bench ISAC" --provider >/dev/null
  start=$(date +%s.%N)
  taskset -c "$server_cpu" $bin ioc import "$work/ingest.csv" --org bench --quiet >"$work/ingest.out" &
  importer=$!
  # The importer's own memory (RssAnon: heap and stacks), sampled; its RSS also counts the
  # database file SQLite maps into memory, which is the page cache, not the import's.
  peak=0
  while kill -0 "$importer" 2>/dev/null; do
    now=$(awk '/RssAnon/ {print $2}' "/proc/$importer/status" 2>/dev/null || echo 0)
    [ "${now:-0}" -gt "$peak" ] && peak=$now
    sleep 0.2
  done
  wait "$importer"
  end=$(date +%s.%N)
  echo "$peak" >"$work/ingest.rss"
  cat "$work/ingest.out"
  taskset -c "$server_cpu" $floor "$work/ingest/cirhub.db" "$work/floor/cirhub.db" >"$work/floor.json"
  cat "$work/floor.json"
  python3 - "$work/ingest.out" "$start" "$end" "$(cat "$work/ingest.rss")" "$bytes" "$work/floor.json" "$count" >>"$out" <<'PY'
import json, re, sys
text, start, end, rss, size, floor, count = open(sys.argv[1]).read(), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), json.load(open(sys.argv[6])), int(sys.argv[7])
created = int(re.search(r"(\d+) created", text).group(1))
secs = end - start
print(json.dumps({"ingest": {"count": count, "created": created, "seconds": secs, "per_s": created / secs,
    "rss_kib": rss, "file_bytes": size, "floor": floor}}))
PY
  unset CIRHUB_DATA_DIR
fi

if [ -z "${SKIP_LOOKUP:-}" ]; then
  export CIRHUB_DATA_DIR="$work/lookup"
  per=$((count / orgs))
  for i in $(seq 0 $((orgs - 1))); do
    $bin admin create-org --slug "org$i" --name "Org $i" --customer >/dev/null
    CIRHUB_NEW_PASSWORD=$pw $bin admin create-user --org "org$i" --email "admin@org$i.example" --name "Admin $i" --role admin >/dev/null
  done
  port="$(free_port)"
  export CIRHUB_ADDR="127.0.0.1:$port"
  base="http://127.0.0.1:$port"
  RUST_LOG=warn taskset -c "$server_cpu" $bin serve >"$work/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do curl -s -o /dev/null "$base/healthz" && break; sleep 0.1; done
  # Agreements in force between random pairs; each organisation's objects are shared under
  # every agreement it is a party to.
  python3 bench/ioc/world.py "$base" "$orgs" "$agreements" "$pw" >"$work/world.json"
  for i in $(seq 0 $((orgs - 1))); do
    python3 bench/ioc/gen.py "$work/org$i.csv" "$per" $((i * per))
    share=$(python3 -c 'import json,sys; print(" ".join("--share-under="+a for a in json.load(open(sys.argv[1]))["shares"][sys.argv[2]]))' "$work/world.json" "org$i")
    # shellcheck disable=SC2086
    taskset -c "$server_cpu" $bin ioc import "$work/org$i.csv" --org "org$i" --quiet $share >/dev/null
    rm "$work/org$i.csv"
  done
  token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$work/world.json")
  # Lookup values: half held by someone (any organisation), half by nobody.
  python3 bench/ioc/values.py "$work/values.txt" "$count"
  for r in $(seq "$rounds"); do
    taskset -c "$client_cpu" wrk -t1 -c32 -d"$duration" --latency -s bench/ioc/lookup.lua "$base" -- "$token" "$work/values.txt" >"$work/wrk-$r.txt" 2>&1 || true
    python3 bench/ioc/wrk_json.py "$work/wrk-$r.txt" >>"$out"
  done
  # Latency at the target rate: oha sends 10,000 lookups a second whatever the pace of the
  # answers (open loop) and counts each one's latency from when it was due
  # (--latency-correction), so a stall is charged to every request it held up. wrk above
  # measures the saturated rate, where latency is mostly the 32 requests queued.
  python3 -c 'import sys, urllib.parse
for l in open(sys.argv[2]):
    v = l.strip()
    if v: print(sys.argv[1] + "/api/v1/lookup?value=" + urllib.parse.quote(v, safe=""))' \
    "$base" "$work/values.txt" >"$work/urls.txt"
  for r in $(seq "$rounds"); do
    taskset -c "$client_cpu" target/tools/bin/oha -z "$duration" -c 64 -q "$rate" --latency-correction \
      --no-tui --output-format json -H "authorization: Bearer $token" \
      --urls-from-file "$work/urls.txt" >"$work/oha-$r.json"
    python3 bench/ioc/oha_json.py "$work/oha-$r.json" "$rate" >>"$out"
  done
  taskset -c "$client_cpu" python3 bench/ioc/batch.py "$base" "$token" "$work/values.txt" 20 >>"$out"
  # RSS counts the database pages the server maps from the page cache (RssFile) besides
  # its own memory (RssAnon: heap and stacks).
  rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/${pids[0]}/status")
  anon_kib=$(awk '/RssAnon/ {print $2}' "/proc/${pids[0]}/status")
  # HOLD=SECONDS keeps the world up afterwards, to look at it (prints where it is).
  [ -n "${HOLD:-}" ] && { echo "holding $base token $token values $work/values.txt"; sleep "$HOLD"; }
  echo "{\"server_rss_kib\": $rss_kib, \"server_anon_kib\": $anon_kib}" >>"$out"
fi
mkdir -p "$(dirname "$report")"
python3 bench/ioc/report.py "$out" "$count" "$orgs" "$agreements" >"$report"
cat "$report"
grep -q '^verdict: PASS' "$report"
