#!/usr/bin/env bash
# Requests per second of GET /status/{provider}/api/v2/summary.json (50 components,
# 10 active incidents with 3 updates each), and in the same run nginx serving the same bytes
# as a static file, under identical wrk load on loopback. Writes bench/results/status-summary.txt.
#   bench/status-summary.sh [wrk duration per measurement, default 10s] [rounds, default 3]
# Each round measures cirhub then nginx; the report gives the median of the rounds, which
# evens out the noise of a small shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10s}" rounds="${2:-3}"
threads=1 conns=64
scripts/setup.sh bench
cargo build --release -p cirhub-server

work="$(mktemp -d)"
chmod 755 "$work" # nginx workers run as another user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)" nport="$(free_port)"
export CIRHUB_DATA_DIR="$work" CIRHUB_ADDR="127.0.0.1:$port" CIRHUB_LOG_FORMAT=json RUST_LOG=warn
bin=target/release/cirhub
$bin admin create-org --slug bench --name "Bench Cloud" --provider >/dev/null
CIRHUB_NEW_PASSWORD=bench-password-123 $bin admin create-user --org bench --email admin@bench.example --name Bench --role admin >/dev/null
$bin serve >"$work/server.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/healthz" >/dev/null || { echo "cirhub did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

# Populate through the public REST API, as a provider would.
python3 - "$base" <<'PY'
import json, sys, urllib.error, urllib.request
base = sys.argv[1]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path} -> {e.code}: {e.read().decode(errors='replace')}")
tok = call("POST", "/api/v1/auth/login", {"email": "admin@bench.example", "password": "bench-password-123"})["access_token"]
regions = [call("POST", "/api/v1/regions", {"code": c, "name": c}, tok)["id"] for c in ("ap-northeast-1", "us-east-1", "eu-west-1")]
services = [call("POST", "/api/v1/services", {"name": f"Service {i}", "description": f"Service number {i}"}, tok)["id"] for i in range(5)]
groups = [call("POST", "/api/v1/component-groups", {"name": f"Group {i}", "position": i}, tok)["id"] for i in range(5)]
comps = []
for i in range(50):
    comps.append(call("POST", "/api/v1/components", {"name": f"Component {i}", "description": "A component of the benchmark page", "service_id": services[i % 5], "region_id": regions[i % 3], "group_id": groups[i % 5], "position": i}, tok)["id"])
for i in range(10):
    inc = call("POST", "/api/v1/incidents", {"title": f"Incident {i}: elevated error rates", "body": "We are investigating elevated error rates. " * 3, "impact": "major" if i % 2 else "minor", "components": [{"component_id": comps[i * 5], "status": "degraded_performance"}]}, tok)
    for step in ("identified", "monitoring"):
        call("POST", f"/api/v1/incidents/{inc['id']}/updates", {"status": step, "body": f"Update: {step}. " * 5}, tok)
PY

path=/status/bench/api/v2/summary.json
mkdir -p "$work/www$(dirname $path)"
curl -sf "$base$path" -o "$work/www$path"
bytes=$(stat -c %s "$work/www$path")
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len([c for c in d['components'] if not c['group']])==50 and len(d['incidents'])==10, 'unexpected summary'" "$work/www$path"

cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
error_log $work/nginx-error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  sendfile on;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp; uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
NGINX
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$nport$path" >/dev/null && break; sleep 0.1; done
cmp <(curl -sf "http://127.0.0.1:$nport$path") <(curl -sf "$base$path") || { echo "nginx and cirhub serve different bytes" >&2; exit 1; }

rate() {
  wrk -t"$threads" -c"$conns" -d2s "$1" >/dev/null
  wrk -t"$threads" -c"$conns" -d"$duration" "$1" | tee -a "$work/wrk.log" | awk '/Requests\/sec/ {print $2}'
}
cirhub_runs=() nginx_runs=()
for r in $(seq "$rounds"); do
  cirhub_runs+=("$(rate "$base$path")")
  nginx_runs+=("$(rate "http://127.0.0.1:$nport$path")")
  echo "round $r/$rounds: cirhub ${cirhub_runs[-1]} req/s, nginx ${nginx_runs[-1]} req/s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
cirhub_rps=$(median "${cirhub_runs[@]}")
nginx_rps=$(median "${nginx_runs[@]}")
ratio=$(python3 -c "print(f'{$cirhub_rps/$nginx_rps:.2f}')")
# wrk counts every completed response; errors would make the rates meaningless.
errors="$(grep -E 'Non-2xx|Socket errors' "$work/wrk.log" || true)"
report="date: $(date -u +%Y-%m-%dT%H:%MZ)
machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; cirhub and nginx with one worker per core
load: wrk -t$threads -c$conns -d$duration on loopback, after a 2 s warm-up, $rounds alternating rounds (median)
document: GET $path, $bytes bytes (50 components, 10 active incidents)
cirhub: $cirhub_rps requests/s (rounds: ${cirhub_runs[*]})
nginx (same bytes, static file): $nginx_rps requests/s (rounds: ${nginx_runs[*]})
ratio cirhub/nginx: $ratio
errors: ${errors:-none}"
echo "$report" | tee bench/results/status-summary.txt
