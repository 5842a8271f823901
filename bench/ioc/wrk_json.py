"""One wrk report as a JSON line: requests/s, p50, p99 (ms), non-2xx and socket errors."""
import json
import re
import sys


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")


text = open(sys.argv[1]).read()
out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
       "requests": int(re.search(r"(\d+) requests in", text).group(1))}
for q in ("50", "99"):
    m = re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", text, re.M)
    out["p" + q] = ms(m.group(1)) if m else float("nan")
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: (.*)", text)
out["non2xx"] = int(non2xx.group(1)) if non2xx else 0
out["socket_errors"] = sock.group(1) if sock else ""
print(json.dumps({"lookup": out}))
