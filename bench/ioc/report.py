"""The report of bench/ioc.sh from its JSON lines; ends with `verdict: PASS` or `FAIL`."""
import json
import statistics
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
count, orgs, agreements = sys.argv[2:5]
problems = []


def medians(rounds):
    return {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p99")}


print("bench/ioc.sh: indicator ingest and lookup (SQLite, release build, 2-core VM)")
for l in lines:
    if "ingest" in l:
        i = l["ingest"]
        f = i["floor"]
        ratio = i["per_s"] / f["objects_per_s"]
        print(f"ingest: cirhub ioc import of {i['count']:,} CSV indicators ({i['file_bytes'] / 2**20:.0f} MiB): "
              f"{i['created']:,} created in {i['seconds']:.1f} s = {i['per_s']:,.0f}/s, "
              f"importer's peak anonymous memory {i['rss_kib'] / 1024:.0f} MiB (the file is streamed)")
        print(f"  floor: the same {f['rows']:,} rows by prepared statements in one transaction: "
              f"{f['seconds']:.1f} s = {f['objects_per_s']:,.0f} objects/s")
        print(f"  ratio {ratio:.2f} of the floor (target >= 0.30)")
        if i["created"] != int(i["count"]):
            problems.append(f"ingest created {i['created']} of {i['count']}")
        if ratio < 0.3:
            problems.append(f"ingest ratio {ratio:.2f} < 0.30")
runs = [l["lookup"] for l in lines if "lookup" in l]
if runs:
    med = medians(runs)
    print(f"lookup: {count} indicators, {orgs} organisations, {agreements} agreements; GET /api/v1/lookup?value= "
          f"with an API token, wrk -t1 -c32, server on CPU 0, wrk on CPU 1")
    print(f"  median of {len(runs)} rounds: {med['rps']:,.0f} lookups/s, p50 {med['p50']:.2f} ms, p99 {med['p99']:.2f} ms "
          f"(rounds: {', '.join(format(r['rps'], ',.0f') for r in runs)})")
    for r in runs:
        if r["non2xx"] or r["socket_errors"]:
            problems.append(f"lookup errors: {r['non2xx']} non-2xx, socket {r['socket_errors']}")
    if med["rps"] < 10000:
        problems.append(f"lookups {med['rps']:.0f}/s < 10,000/s")
steady = [l["steady"] for l in lines if "steady" in l]
if steady:
    med = medians(steady)
    rate = steady[0]["rate"]
    print(f"  at a constant {rate:,}/s (oha -q, 64 connections, latency from each request's due time, on CPU 1): "
          f"median of {len(steady)} rounds: {med['rps']:,.0f} lookups/s achieved, p50 {med['p50']:.2f} ms, "
          f"p99 {med['p99']:.2f} ms (rounds' p99: {', '.join(format(r['p99'], '.2f') for r in steady)})")
    for r in steady:
        if r["not_ok"] or r["errors"]:
            problems.append(f"constant-rate errors: {r['not_ok']} answers other than 200, {r['errors']} failed")
    if med["rps"] < 0.99 * rate:
        problems.append(f"the constant-rate rounds achieved {med['rps']:.0f}/s, not {rate:,}/s")
    if rate < 10000:
        problems.append(f"the constant rate {rate:,}/s is below the target's 10,000/s")
    if med["p99"] >= 5:
        problems.append(f"lookup p99 at {rate:,}/s {med['p99']:.2f} ms >= 5 ms")
elif runs and med["p99"] >= 5:
    problems.append(f"lookup p99 {med['p99']:.2f} ms >= 5 ms")
for l in lines:
    if "batch" in l:
        b = l["batch"]
        print(f"  1,000-value batch: median {b['median_ms']:.1f} ms, max {b['max_ms']:.1f} ms over {b['rounds']} batches "
              f"({b['values_matched']:,} values matched something the reader may see)")
        if b["median_ms"] >= 20:
            problems.append(f"batch {b['median_ms']:.1f} ms >= 20 ms")
    if "server_rss_kib" in l:
        anon = l.get("server_anon_kib")
        own = f" ({anon / 1024:.0f} MiB its own heap and stacks, the rest database pages mapped from the page cache)" if anon else ""
        print(f"  server memory (RSS) after the run: {l['server_rss_kib'] / 1024:.0f} MiB{own}")
for p in problems:
    print("problem:", p)
print("verdict:", "FAIL" if problems else "PASS")
