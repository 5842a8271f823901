"""Agreements of the lookup benchmark: AGREEMENTS bilateral agreements in force between
random pairs of the ORGS organisations (TLP up to AMBER, indicators), proposed by one admin
and accepted by the other; an API token of the first organisation to look up with. Prints
JSON: the token and, per organisation, the agreements it shares its indicators under.

    python3 world.py BASE_URL ORGS AGREEMENTS PASSWORD
"""
import json
import random
import sys
import urllib.request

base, orgs, agreements, password = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
random.seed(11)


def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


tokens = {}


def login(i):
    if i not in tokens:
        tokens[i] = call("POST", "/api/v1/auth/login",
                         {"email": f"admin@org{i}.example", "password": password})["access_token"]
    return tokens[i]


pairs = set()
while len(pairs) < agreements:
    a, b = random.sample(range(orgs), 2)
    pairs.add((min(a, b), max(a, b)))
shares = {f"org{i}": [] for i in range(orgs)}
for a, b in sorted(pairs):
    ag = call("POST", "/api/v1/agreements", {
        "kind": "bilateral", "title": f"org{a}-org{b}", "tlp_ceiling": "amber",
        "parties": [{"organisation": f"org{a}", "role": "member"}, {"organisation": f"org{b}", "role": "member"}],
        "categories": ["indicators"], "onward": "none", "attribution": "named", "retention_days": 90,
    }, login(a))["id"]
    call("POST", f"/api/v1/agreements/{ag}/accept", {"version": 1}, login(b))
    shares[f"org{a}"].append(ag)
    shares[f"org{b}"].append(ag)
token = call("POST", "/api/v1/api-tokens", {"name": "lookup", "role": "viewer"}, login(0))["secret"]
print(json.dumps({"token": token, "shares": shares}))
