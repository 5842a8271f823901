"""TAXII 2.1 read benchmark, driven by the OASIS client (taxii2-client) as a consumer would.

For each server: adds N indicators (TLP:GREEN) to one collection through TAXII in envelopes
of 500, then measures with the client — a full `as_pages` walk, the first page, and an
`added_after` poll that returns the 10 objects added after the walk — each as the median of
ROUNDS runs. Prints one JSON line per measurement.

    python3 taxii_bench.py NAME DISCOVERY_URL COLLECTION_ID N PER_PAGE [ROUNDS]
Environment: WRITER_USER/WRITER_PASSWORD add the objects, READER_USER/READER_PASSWORD
read them (for cirhub: a provider's and a customer's API tokens on their agreement's
collection, so every object read is decided and disclosed).
"""
import os
import datetime
import json
import statistics
import sys
import time
import uuid

from taxii2client.v21 import Collection, Server, as_pages

name, url, collection_id, n, per_page = sys.argv[1:6]
n, per_page = int(n), int(per_page)
rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 5
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def indicator(i):
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": f"Scanner {ip}", "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '{ip}']", "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z", "object_marking_refs": [GREEN],
    }




def open_collection(role):
    server = Server(url, user=os.environ[f"{role}_USER"], password=os.environ[f"{role}_PASSWORD"])
    root = server.default or server.api_roots[0]
    return next(c for c in root.collections if c.id == collection_id)


writer = open_collection("WRITER")
collection = open_collection("READER")


def add(count, start):
    t = time.perf_counter()
    done = 0
    while done < count:
        batch = [indicator(start + done + i) for i in range(min(500, count - done))]
        status = writer.add_objects({"objects": batch}, wait_for_completion=True, poll_interval=0.2)
        if status.success_count != len(batch):
            sys.exit(f"{name}: {status.success_count} of {len(batch)} added: {status.failures[:3]}")
        done += len(batch)
    return time.perf_counter() - t


have = sum(len(e.get("objects", [])) for e in as_pages(writer.get_manifest, per_request=per_page))
if have < n:
    took = add(n - have, have)
    print(json.dumps({"server": name, "what": "add", "objects": n - have, "seconds": round(took, 3)}))


def timed(f):
    times = []
    out = None
    for _ in range(rounds):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(times), out


def walk():
    got = 0
    for envelope in as_pages(collection.get_objects, per_request=per_page):
        got += len(envelope.get("objects", []))
    return got


if n <= int(os.environ.get("WALK_MAX", "100000")):
    median, worst, got = timed(walk)
    if got != n:
        sys.exit(f"{name}: the walk returned {got} objects, not {n}")
    print(json.dumps({"server": name, "what": "walk", "objects": n, "per_page": per_page,
                      "median_ms": round(median * 1000, 1), "worst_ms": round(worst * 1000, 1)}))

# The first page at the usual page size of 100, whatever the walk's.
median, worst, page = timed(lambda: collection.get_objects(limit=100))
print(json.dumps({"server": name, "what": "first page", "objects": len(page.get("objects", [])),
                  "median_ms": round(median * 1000, 1), "worst_ms": round(worst * 1000, 1)}))

# Server and client share the host's clock: everything added so far was added before now.
time.sleep(0.01)
newest = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
time.sleep(0.01)
add(10, n)
median, worst, polled = timed(lambda: collection.get_objects(added_after=newest))
count = len(polled.get("objects", []))
if count != 10:
    sys.exit(f"{name}: the poll returned {count} objects, not 10")
print(json.dumps({"server": name, "what": "added_after poll", "objects": count,
                  "median_ms": round(median * 1000, 1), "worst_ms": round(worst * 1000, 1)}))
