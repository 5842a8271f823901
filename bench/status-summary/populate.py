"""Populates the benchmark's provider through the public REST API, as a provider would, and
prints (as JSON) what the measurements need: the documents' paths, the tokens, the ids.

Provider `bench`: 50 components (5 services, 5 groups, 3 regions), 10 public active incidents
with three updates each (the public summary), one `affected` incident on a component the
customer contracted (the authenticated read; each read of it is a disclosure), and one
`internal` incident that only the provider sees (the target of the concurrent writes, so
the documents being read do not change while they are measured). Customer `acme`: a
relationship covering every service in every region, and a personal feed token.

    python3 populate.py BASE_URL
"""
import json
import sys
import urllib.error
import urllib.request

base = sys.argv[1]


def call(method, path, body=None, token=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
    )
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path} -> {e.code}: {e.read().decode(errors='replace')}")


def login(email):
    return call("POST", "/api/v1/auth/login", {"email": email, "password": "bench-password-123"})["access_token"]


tok = login("admin@bench.example")
regions = [call("POST", "/api/v1/regions", {"code": c, "name": c}, tok)["id"] for c in ("ap-northeast-1", "us-east-1", "eu-west-1")]
services = [call("POST", "/api/v1/services", {"name": f"Service {i}", "description": f"Service number {i}"}, tok)["id"] for i in range(5)]
groups = [call("POST", "/api/v1/component-groups", {"name": f"Group {i}", "position": i}, tok)["id"] for i in range(5)]
comps = []
for i in range(50):
    comps.append(call("POST", "/api/v1/components", {"name": f"Component {i}", "description": "A component of the benchmark page", "service_id": services[i % 5], "region_id": regions[i % 3], "group_id": groups[i % 5], "position": i}, tok)["id"])
for i in range(10):
    inc = call("POST", "/api/v1/incidents", {"title": f"Incident {i}: elevated error rates", "body": "We are investigating elevated error rates. " * 3, "impact": "major" if i % 2 else "minor", "components": [{"component_id": comps[i * 5], "status": "degraded_performance"}]}, tok)
    for step in ("identified", "monitoring"):
        call("POST", f"/api/v1/incidents/{inc['id']}/updates", {"status": step, "body": f"Update: {step}. " * 5}, tok)

# The customer and what it may see.
rel = call("POST", "/api/v1/relationships", {"customer": "acme", "service_model": "iaas", "scopes": [{"service_id": s, "region_id": None} for s in services]}, tok)
ctok = login("admin@acme.example")
call("POST", f"/api/v1/relationships/{rel['id']}/accept", None, ctok)
feed = call("POST", "/api/v1/feed-tokens", {"name": "benchmark"}, ctok)

# Non-public incidents: one read by API token, one written to during the "with writes" runs.
private = call("POST", "/api/v1/incidents", {"title": "Packet loss for Component 1", "body": "Investigating packet loss on some hosts. " * 3, "impact": "major", "visibility": "affected", "components": [{"component_id": comps[1], "status": "partial_outage"}]}, tok)
for step in ("identified", "monitoring"):
    call("POST", f"/api/v1/incidents/{private['id']}/updates", {"status": step, "body": f"Update: {step}. " * 5}, tok)
internal = call("POST", "/api/v1/incidents", {"title": "Internal investigation", "body": "Only the provider sees this.", "impact": "minor", "visibility": "internal"}, tok)
reader = call("POST", "/api/v1/api-tokens", {"name": "reader", "role": "viewer"}, tok)["secret"]
writer = call("POST", "/api/v1/api-tokens", {"name": "writer", "role": "operator"}, tok)["secret"]
auditor = call("POST", "/api/v1/api-tokens", {"name": "auditor", "role": "auditor"}, tok)["secret"]

print(json.dumps({
    "public": "/status/bench/api/v2/summary.json",
    "feed": f"/feeds/{feed['secret']}/api/v2/summary.json",
    "incident": f"/api/v1/incidents/{private['id']}",
    "incident_id": private["id"],
    "internal_id": internal["id"],
    "reader": reader,
    "writer": writer,
    "auditor": auditor,
}))
