"""Writes the indicator files of the ingest and lookup benchmarks: CSV with the importer's
header, distinct values (60 % IPv4 addresses, 20 % domains, 10 % SHA-256 hashes, 10 % URLs),
numbered so that every file and every organisation holds different ones.

    python3 gen.py FILE COUNT FIRST      one file of COUNT values numbered from FIRST
"""
import hashlib
import sys


def value(n):
    """The kind and value of indicator number n."""
    k = n % 10
    if k < 6:
        m = n + (11 << 24)  # 11.0.0.0 upwards: addresses, one each
        return "ipv4", f"{m >> 24 & 255}.{m >> 16 & 255}.{m >> 8 & 255}.{m & 255}"
    if k < 8:
        return "domain", f"d{n}.bench-{n % 97}.example"
    if k == 8:
        return "sha256", hashlib.sha256(str(n).encode()).hexdigest()
    return "url", f"http://u{n}.bench.example/payload"


if __name__ == "__main__":
    path, count, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, "w") as f:
        f.write("type,value,tlp,category,comment\n")
        for n in range(first, first + count):
            kind, v = value(n)
            f.write(f"{kind},{v},amber,malicious-activity,bench {n}\n")
