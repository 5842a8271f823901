"""One oha JSON report (argument 1) of a run at a constant rate (argument 2) as a JSON line:
the rate asked and the rate achieved, p50 and p99 (ms), answers other than
200, and errors (connection failures, timeouts); requests still in flight when the duration
ended, which oha reports as aborted, are counted apart."""
import json
import sys

r = json.load(open(sys.argv[1]))
lat = r.get("latencyPercentiles", {})
codes = r.get("statusCodeDistribution", {})
ok = sum(n for c, n in codes.items() if str(c) == "200")
print(json.dumps({"steady": {
    "rate": int(sys.argv[2]),
    "rps": r["summary"]["requestsPerSec"],
    "p50": (lat.get("p50") or float("nan")) * 1000,
    "p99": (lat.get("p99") or float("nan")) * 1000,
    "ok": ok,
    "not_ok": sum(codes.values()) - ok,
    "errors": sum(n for e, n in r.get("errorDistribution", {}).items() if "deadline" not in e),
    "cut_off": sum(n for e, n in r.get("errorDistribution", {}).items() if "deadline" in e),
}}))
