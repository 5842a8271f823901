"""Creates what the TAXII benchmark reads through: a provider's and a customer's API tokens
and a bilateral agreement in force between them (TLP up to AMBER, indicators). Prints JSON.

    python3 populate.py BASE_URL
"""
import json
import sys
import urllib.request

base = sys.argv[1]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def login(email):
    return call("POST", "/api/v1/auth/login", {"email": email, "password": "bench-password-123"})["access_token"]


p, c = login("admin@bench.example"), login("admin@acme.example")
agreement = call("POST", "/api/v1/agreements", {
    "kind": "bilateral", "title": "Bench indicators", "tlp_ceiling": "amber",
    "parties": [{"organisation": "bench", "role": "provider"}, {"organisation": "acme", "role": "customer"}],
    "categories": ["indicators"], "onward": "none", "attribution": "named", "retention_days": 30,
}, p)["id"]
call("POST", f"/api/v1/agreements/{agreement}/accept", {"version": 1}, c)
print(json.dumps({
    "agreement": agreement,
    "writer": call("POST", "/api/v1/api-tokens", {"name": "writer", "role": "analyst"}, p)["secret"],
    "reader": call("POST", "/api/v1/api-tokens", {"name": "reader", "role": "viewer"}, c)["secret"],
}))
