"""Times 1,000-value lookups (POST /api/v1/lookup) over one kept-alive connection: ROUNDS
batches of distinct values, after one warm-up. Prints one JSON line.

    python3 batch.py BASE_URL TOKEN VALUES_FILE ROUNDS
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

base, token, path, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
values = [v.strip() for v in open(path) if v.strip()]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
times, matched = [], 0
for r in range(rounds + 1):
    batch = [values[(r * 1000 + i) % len(values)] for i in range(1000)]
    body = json.dumps({"values": batch})
    t = time.perf_counter()
    conn.request("POST", "/api/v1/lookup", body, {"authorization": "Bearer " + token, "content-type": "application/json"})
    res = conn.getresponse()
    data = res.read()
    elapsed = (time.perf_counter() - t) * 1000
    assert res.status == 200, (res.status, data[:300])
    answers = json.loads(data)
    assert len(answers) == 1000
    if r:
        times.append(elapsed)
        matched += sum(1 for a in answers if a["matches"])
print(json.dumps({"batch": {"rounds": rounds, "median_ms": statistics.median(times),
                            "max_ms": max(times), "values_matched": matched}}))
