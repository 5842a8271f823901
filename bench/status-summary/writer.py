"""Concurrent writes for the "with writes" measurements: posts updates to the provider's
internal incident at a fixed rate until SIGTERM, then writes what it achieved as JSON.
A slot missed because the previous post was slow is skipped, not caught up in a burst, so
the achieved rate shows how far writes were held back.

    python3 writer.py BASE_URL TOKEN INCIDENT_ID RATE_PER_S OUT.json
"""
import json
import signal
import sys
import time
import urllib.error
import urllib.request

base, token, incident, rate, out = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
interval = 1.0 / rate
ok, failed, latencies, statuses = 0, 0, [], {}
start = time.monotonic()
due = start
while not stop:
    now = time.monotonic()
    if now < due:
        time.sleep(due - now)
        if stop:
            break
    elif now - due > interval:
        due = now  # behind: skip the missed slots
    body = json.dumps({"status": "investigating", "body": f"Still looking, check {ok + failed}."}).encode()
    req = urllib.request.Request(f"{base}/api/v1/incidents/{incident}/updates", method="POST", data=body)
    req.add_header("content-type", "application/json")
    req.add_header("authorization", "Bearer " + token)
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError as e:
        code = type(e).__name__
    latencies.append((time.monotonic() - t) * 1000)
    statuses[str(code)] = statuses.get(str(code), 0) + 1
    if isinstance(code, int) and 200 <= code < 300:
        ok += 1
    else:
        failed += 1
    due += interval
elapsed = time.monotonic() - start
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] if latencies else float("nan")
with open(out, "w") as f:
    json.dump({"offered": rate, "ok": ok, "failed": failed, "statuses": statuses, "seconds": elapsed,
               "rate": ok / elapsed if elapsed else 0.0, "p50_ms": pick(0.5), "p99_ms": pick(0.99)}, f)
