#!/usr/bin/env bash
# TAXII 2.1 reads through the OASIS client (taxii2-client), as a consumer polls a collection:
# a full as_pages walk, the first page, and an added_after poll that returns the 10 objects
# added since. First like for like at 2,000 indicators and 100 objects a page against
# medallion (the OASIS reference TAXII server, memory backend) serving the same objects;
# then cirhub alone at the larger sizes with pages of 1,000. cirhub runs as run.sh runs it
# (release build, SQLite, info log to a file); the reader is a customer reading its
# provider's agreement collection, so every object read is decided by the sharing policy
# and disclosed durably. Servers on the first CPU, the client on the second.
# Writes bench/results/taxii.txt; exits non-zero when a target is missed or an answer is
# incomplete.
#   bench/taxii.sh            Environment: SIZES (cirhub alone, default "10000 1000000"),
#                             ROUNDS (default 3), REPORT (default bench/results/taxii.txt),
#                             WALK_MAX (largest size walked in full, default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${SIZES:-10000 1000000}" rounds="${ROUNDS:-3}" report="${REPORT:-bench/results/taxii.txt}"
scripts/setup.sh bench
cargo build --release -p cirhub-server
py=target/tools/venv/bin/python
server_cpu=0 client_cpu=$(( $(nproc) > 1 ? 1 : 0 ))

work="$(mktemp -d)" pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# cirhub
port="$(free_port)" base=""
export CIRHUB_DATA_DIR="$work/cirhub" CIRHUB_ADDR="127.0.0.1:$port" CIRHUB_LOG_FORMAT="${CIRHUB_LOG_FORMAT:-pretty}"
base="http://127.0.0.1:$port"
bin=target/release/cirhub
$bin admin create-org --slug bench --name "Bench Cloud" --provider >/dev/null
$bin admin create-org --slug acme --name "Acme Corp" --customer >/dev/null
CIRHUB_NEW_PASSWORD=bench-password-123 $bin admin create-user --org bench --email admin@bench.example --name Bench --role admin >/dev/null
CIRHUB_NEW_PASSWORD=bench-password-123 $bin admin create-user --org acme --email admin@acme.example --name Acme --role admin >/dev/null
RUST_LOG=info taskset -c "$server_cpu" $bin serve >"$work/cirhub.log" 2>&1 &
pids+=($!)
wait_http "$base/healthz"
setup="$(python3 bench/taxii/populate.py "$base")"
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$setup"; }
agreement=$(get agreement)

# medallion, memory backend, one collection, the same page size limit as cirhub's
mport="$(free_port)" mcol="91a7b528-80eb-42ed-a74d-c6fbd5a26116"
cat >"$work/medallion-data.json" <<JSON
{"/discovery": {"title": "medallion", "default": "http://127.0.0.1:$mport/api1/",
  "api_roots": ["http://127.0.0.1:$mport/api1/"]},
 "api1": {"information": {"title": "api1", "versions": ["application/taxii+json;version=2.1"],
   "max_content_length": 10485760}, "status": [],
   "collections": [{"id": "$mcol", "title": "bench", "can_read": true, "can_write": true,
     "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}]}}
JSON
cat >"$work/medallion.json" <<JSON
{"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
   "filename": "$work/medallion-data.json"},
 "users": {"bench": "bench-pass"}, "taxii": {"max_page_size": 1000}}
JSON
taskset -c "$server_cpu" target/tools/venv/bin/medallion --host 127.0.0.1 --port "$mport" --log-level WARN "$work/medallion.json" >"$work/medallion.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$mport/taxii2/"

out="$work/results.jsonl"
cirhub_env=(WRITER_USER=taxii "WRITER_PASSWORD=$(get writer)" READER_USER=taxii "READER_PASSWORD=$(get reader)")
medallion_env=(WRITER_USER=bench WRITER_PASSWORD=bench-pass READER_USER=bench READER_PASSWORD=bench-pass)
# measure ENV_ARRAY NAME DISCOVERY COLLECTION N PER_PAGE
measure() {
  local -n envs=$1; shift
  taskset -c "$client_cpu" env "${envs[@]}" "$py" -B bench/taxii/taxii_bench.py "$@" "$rounds" | tee -a "$out"
}
measure cirhub_env cirhub "$base/taxii2/" "$agreement" 2000 100
measure medallion_env medallion "http://127.0.0.1:$mport/taxii2/" "$mcol" 2000 100
kill "${pids[1]}" 2>/dev/null || true # medallion is done; the rest is cirhub alone
for n in $sizes; do
  measure cirhub_env cirhub "$base/taxii2/" "$agreement" "$n" 1000
done
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/${pids[0]}/status")
disclosed=$(curl -sf "$base/api/v1/stix-objects/received?per_page=1" -H "authorization: Bearer $(get reader)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
mkdir -p "$(dirname "$report")"
python3 bench/taxii/report.py "$out" "$rss_kib" "$disclosed" "$sizes" >"$report"
cat "$report"
grep -q '^verdict: PASS' "$report"
