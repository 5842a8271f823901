"""Populates the escalation-timer benchmark through the public REST API and prints (as JSON)
the number of escalations it started and the range of their second steps' due times.

Provider `bench` with one component; CUSTOMERS customer organisations (`c0`, `c1`, ...),
each contracting it and each with its own escalation policy; every organisation's policy
tells its admins through a webhook first (a channel escalations do not deliver yet, so the
first step writes nothing but the next step's row) and by WebSocket after WAIT minutes (the
provider) or WAIT + (k mod SPREAD) minutes (customer k). INCIDENTS public incidents then
start (1 + CUSTOMERS) x INCIDENTS escalations, each with one pending step.

    python3 populate.py BASE_URL CUSTOMERS INCIDENTS WAIT SPREAD
"""
import json
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, customers, incidents, wait, spread = sys.argv[1], *map(int, sys.argv[2:6])


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
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path} -> {e.code}: {e.read().decode(errors='replace')}")


def login(email):
    return call("POST", "/api/v1/auth/login", {"email": email, "password": "bench-password-123"})["access_token"]


def policy(minutes):
    admins = lambda channels: [{"kind": "role", "id": "admin", "channels": channels}]
    return {"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": admins(["webhook"]), "wait_minutes": minutes},
        {"targets": admins(["websocket"])}]}]}


tok = login("admin@bench.example")
service = call("POST", "/api/v1/services", {"name": "Compute", "description": "VMs"}, tok)["id"]
component = call("POST", "/api/v1/components", {"name": "Compute", "description": "VMs", "service_id": service}, tok)["id"]
call("PUT", "/api/v1/escalation-policy", policy(wait), tok)


def customer(k):
    ctok = login(f"admin@c{k}.example")
    rel = call("POST", "/api/v1/relationships", {"customer": f"c{k}", "service_model": "iaas", "scopes": [{"service_id": service, "region_id": None}]}, tok)
    call("POST", f"/api/v1/relationships/{rel['id']}/accept", None, ctok)
    call("PUT", "/api/v1/escalation-policy", policy(wait + k % spread), ctok)


with ThreadPoolExecutor(4) as pool:
    list(pool.map(customer, range(customers)))
first = time.time()


def incident(i):
    call("POST", "/api/v1/incidents", {"title": f"Incident {i}", "body": "Elevated error rates.", "impact": "major", "visibility": "public", "components": [{"component_id": component, "status": "degraded_performance"}]}, tok)


with ThreadPoolExecutor(4) as pool:
    list(pool.map(incident, range(incidents)))
last = time.time()
print(json.dumps({
    "escalations": (1 + customers) * incidents,
    "first_due": first + wait * 60,
    "last_due": last + (wait + min(spread, customers) - 1) * 60 if customers else last + wait * 60,
    "populate_s": last - first,
}))
