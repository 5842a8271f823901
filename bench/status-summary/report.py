"""Reads the measurements of bench/status-summary.sh and writes its report; exits 1 when a
stated target is missed, any response was not 2xx, or wrk saw a socket error.

    python3 report.py RESULTS_DIR META.json
RESULTS_DIR holds, per scenario and round, wrk's output (`NAME.rR.txt`, the warm-up in
`NAME.rR.warm.txt`), the writer's result (`NAME.rR.writes.json`) and the disclosure counts
before and after (`NAME.rR.disclosed`: "BEFORE AFTER").
"""
import json
import os
import re
import statistics
import sys

res, meta = sys.argv[1], json.load(open(sys.argv[2]))
rounds = meta["rounds"]
ran = set(meta.get("scenarios", "A B C D E F").replace(",", " ").split())
problems = []  # errors: non-2xx, socket errors, writes refused
targets = []  # (text, held)


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")


def wrk(path):
    text = open(path).read()
    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", text, re.M)
        out["p" + q] = ms(m.group(1)) if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    if non2xx:
        problems.append(f"{os.path.basename(path)}: {non2xx.group(0)}")
    if sock:
        problems.append(f"{os.path.basename(path)}: Socket errors: {sock.group(1)}")
    return out


def scenario(name):
    runs = [wrk(f"{res}/{name}.r{r}.txt") for r in range(1, rounds + 1)]
    med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
    return runs, med


def rates(runs):
    return " ".join(f"{r['rps']:.0f}" for r in runs)


def fmt(label, runs, med):
    return (f"  {label:<8} {med['rps']:>9.0f} requests/s  p50 {med['p50']:.2f} ms  p99 {med['p99']:.2f} ms"
            f"  (rounds: {rates(runs)})")


def writes(name):
    got = [json.load(open(f"{res}/{name}.r{r}.writes.json")) for r in range(1, rounds + 1)]
    for g in got:
        if g["failed"]:
            problems.append(f"{name}: {g['failed']} writes not 2xx ({g['statuses']})")
    rate = statistics.median(g["rate"] for g in got)
    p99 = statistics.median(g["p99_ms"] for g in got)
    offered = got[0]["offered"]
    held = rate >= 0.9 * offered
    targets.append((f"{name}: writes kept >= 90 % of the offered {offered:g}/s", held))
    each = " ".join("%.1f" % g["rate"] for g in got)
    return f"  writes   {rate:.1f}/s achieved of {offered:g}/s offered, p99 {p99:.0f} ms (rounds: {each})"


def disclosures(name):
    """Each completed read must have its disclosure; reads cut off when wrk stopped may have
    one too (at most one per connection per wrk run)."""
    lines, held = [], True
    for r in range(1, rounds + 1):
        before, after = map(int, open(f"{res}/{name}.r{r}.disclosed").read().split())
        done = wrk(f"{res}/{name}.r{r}.warm.txt")["requests"] + wrk(f"{res}/{name}.r{r}.txt")["requests"]
        found = after - before
        ok = done <= found <= done + 2 * meta["conns"]
        held &= ok
        lines.append(f"{found} for {done}")
    targets.append((f"{name}: a disclosure for every response served", held))
    return f"  disclosures recorded for responses served: {'; '.join(lines)}"


ratio_target, reads_target = meta["ratio_target"], meta["reads_target"]
out = [
    f"date: {meta['date']}",
    f"machine: {meta['machine']}",
    f"cores: {meta['cores']}",
    f"load: wrk -t{meta['threads']} -c{meta['conns']} -d{meta['duration']} --latency on loopback, after a 2 s warm-up; "
    f"{rounds} rounds, each measuring every scenario of its phase in turn; medians of the rounds",
    f"cirhub: release build on SQLite, CIRHUB_LOG_FORMAT={meta['log_format']}, output to a file; "
    f"{meta['workers']}; nginx: worker_processes {meta['nginx_workers']}, sendfile on",
    f"documents: public summary {meta['bytes_public']} bytes (50 components, 10 active incidents); "
    f"personal feed summary {meta['bytes_feed']} bytes; non-public incident {meta['bytes_incident']} bytes",
    f"scenarios run: {' '.join(sorted(ran))}",
    "",
]

def pair(phase, label, title):
    """cirhub against nginx on the same document; returns cirhub's medians."""
    runs_c, c = scenario(f"public-{phase}.cirhub")
    runs_n, n = scenario(f"public-{phase}.nginx")
    ratio = c["rps"] / n["rps"]
    targets.append((f"public summary, {label}: cirhub/nginx >= {ratio_target}", ratio >= ratio_target))
    worst = min(a["rps"] / b["rps"] for a, b in zip(runs_c, runs_n))
    out.extend([title, fmt("cirhub", runs_c, c), fmt("nginx", runs_n, n),
                f"  ratio    {ratio:.2f} (worst round {worst:.2f}); target >= {ratio_target}", ""])
    return c


public = None
if "A" in ran:
    public = pair("logged", "default logs", "A. public summary, default logs: cirhub RUST_LOG=info (its per-request log line), "
                  "nginx access_log on (default format, to a file)")
if "B" in ran:
    pair("quiet", "quiet", "B. public summary, quiet: cirhub RUST_LOG=warn, nginx access_log off")

for letter, name, title in (("C", "feed", "C. personal feed summary (a customer's feed token), default logs, no other load"),
                            ("D", "feed-writes", f"D. personal feed summary, default logs, with {meta['write_rate']} incident updates/s posted meanwhile")):
    if letter not in ran:
        continue
    runs, m = scenario(name)
    out += [title, fmt("cirhub", runs, m)]
    if public:
        share = m["rps"] / public["rps"]
        targets.append((f"{name}: >= {ratio_target} of the public summary's rate (A)", share >= ratio_target))
        out.append(f"  floor    the public summary's rate in A, {public['rps']:.0f}/s, is the upper bound (no nginx peer: "
                   f"the feed is per customer); share {share:.2f}, target >= {ratio_target} (item 14: cached like the public pages)")
    else:
        out.append(f"  floor    A was not run in this report, so the share of A (target >= {ratio_target}) is not judged")
    if name.endswith("writes"):
        out.append(writes(name))
    out.append("")

for letter, name, title in (("E", "read", "E. GET /api/v1/incidents/{id} of a non-public incident with an API token (each read writes a disclosure), default logs, no other load"),
                            ("F", "read-writes", f"F. the same read, with {meta['write_rate']} incident updates/s posted meanwhile (to another, internal incident)")):
    if letter not in ran:
        continue
    runs, m = scenario(name)
    targets.append((f"{name}: >= {reads_target} reads/s with each disclosure durable (issue item 9)", m["rps"] >= reads_target))
    floor = (f"  floor    the public summary's rate in A, {public['rps']:.0f}/s, bounds what one request can cost; "
             f"target >= {reads_target}/s (share of A: {m['rps'] / public['rps']:.2f})") if public else \
        f"  target   >= {reads_target}/s (A was not run in this report)"
    out += [title, fmt("cirhub", runs, m), floor, disclosures(name)]
    if name.endswith("writes"):
        out.append(writes(name))
    out.append("")

targets.append(("no response other than 2xx, no socket error", not problems))
out.append("errors: " + ("none" if not problems else "\n  " + "\n  ".join(problems)))
out.append("targets:")
out += [f"  {'yes' if ok else 'NO '}: {t}" for t, ok in targets]
passed = all(ok for _, ok in targets)
out.append("verdict: " + ("PASS" if passed else "FAIL (a target was missed)"))
print("\n".join(out))
sys.exit(0 if passed else 1)
