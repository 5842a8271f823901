"""Turns the TAXII benchmark's JSON lines into its report, with the targets and a verdict.

    python3 report.py RESULTS.jsonl SERVER_RSS_KIB DISCLOSED "SIZES"
"""
import datetime
import json
import os
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rss_kib, disclosed, sizes = int(sys.argv[2]), int(sys.argv[3]), [int(s) for s in sys.argv[4].split()]


def find(server, what, objects=None, per_page=None):
    for r in rows:
        if r["server"] == server and r["what"] == what and (objects is None or r.get("objects") == objects) \
                and (per_page is None or r.get("per_page") == per_page):
            return r
    return None


def after(server, what, index):
    """The index-th measurement of `what` for a server, in the order they ran."""
    found = [r for r in rows if r["server"] == server and r["what"] == what]
    return found[index] if index < len(found) else None


print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%MZ}")
print(f"machine: {os.cpu_count()} cores; servers on CPU 0, the Python client (taxii2-client 2.3.0) on CPU 1")
print("cirhub: release build on SQLite, info log to a file; reader = a customer's API token on its provider's")
print("  agreement collection (every object decided by the sharing policy and disclosed durably)")
print("medallion 3.0.0: memory backend, Flask's server, max_page_size 1000")
print("medians of the rounds; worst round in brackets")
print()
print("like for like: 2,000 indicators, 100 per page (the first page: 100 objects)")
for what in ["walk", "first page", "added_after poll"]:
    c, m = after("cirhub", what, 0), after("medallion", what, 0)
    ratio = m["median_ms"] / c["median_ms"] if c and m and c["median_ms"] else float("nan")
    print(f"  {what:<17} cirhub {c['median_ms']:>8.1f} ms ({c['worst_ms']:.1f})   "
          f"medallion {m['median_ms']:>8.1f} ms ({m['worst_ms']:.1f})   medallion/cirhub {ratio:.2f}")
print()
targets = []
for i, n in enumerate(sizes):
    first, poll = (after("cirhub", w, i + 1) for w in ["first page", "added_after poll"])
    walk = find("cirhub", "walk", objects=n, per_page=1000)
    add = [r for r in rows if r["server"] == "cirhub" and r["what"] == "add"]
    print(f"cirhub alone: {n:,} indicators")
    if walk and walk["objects"] == n:
        print(f"  walk, 1,000 a page {walk['median_ms']:>7.1f} ms ({walk['worst_ms']:.1f})")
    else:
        walk = None
        print("  walk              not run at this size (WALK_MAX)")
    print(f"  first page of 100 {first['median_ms']:>8.1f} ms ({first['worst_ms']:.1f})")
    print(f"  added_after poll  {poll['median_ms']:>8.1f} ms ({poll['worst_ms']:.1f}), {poll['objects']} objects")
    if n == 10000:
        targets.append((walk is not None and walk["median_ms"] < 2000, "walk of 10,000 with the Python client under 2 s"))
    if n == max(sizes):
        targets.append((first["median_ms"] < 50, f"first page under 50 ms at {n:,} (the target is stated at 1,000,000)"))
        targets.append((poll["median_ms"] < 50, f"added_after poll under 50 ms at {n:,} (the target is stated at 1,000,000)"))
print()
adds = [r for r in rows if r["what"] == "add"]
for r in adds:
    print(f"added through TAXII: {r['server']} {r['objects']:,} objects in {r['seconds']:.1f} s "
          f"({r['objects'] / r['seconds']:,.0f}/s)")
print(f"server memory after the run: {rss_kib / 1024:.0f} MiB RSS; disclosures recorded for the reader: {disclosed:,}")
if max(sizes) < 1_000_000:
    targets.append((False, "first page and poll measured at 1,000,000 (not run: SIZES stops at "
                    f"{max(sizes):,})"))
print("targets:")
for ok, what in targets:
    print(f"  {'yes' if ok else 'NO '}: {what}")
print(f"verdict: {'PASS' if all(ok for ok, _ in targets) else 'FAIL (a target was missed)'}")
