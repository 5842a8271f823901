"""Walks a cirhub TAXII 2.1 server with the OASIS client (taxii2-client) and checks every
object it emits with the OASIS validator (stix2-validator), as a provider that adds objects
to an agreement's collection and a customer that reads them. Prints one JSON summary line;
exits non-zero on the first thing that is not as expected.

Environment: TAXII_URL (discovery URL), PROVIDER_TOKEN, CUSTOMER_TOKEN (cirhub API tokens),
AGREEMENT_ID (the agreement's collection), COUNT (indicators to add, default 250)."""

import json
import os
import sys
import time
import uuid

from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

url = os.environ["TAXII_URL"]
agreement = os.environ["AGREEMENT_ID"]
count = int(os.environ.get("COUNT", "250"))
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
OPTIONS = ValidationOptions(version="2.1", strict=False)


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what}))
        sys.exit(1)


def collection_of(token, collection_id):
    server = Server(url, user="taxii", password=token)
    check(server.title == "cirhub TAXII 2.1", "discovery title")
    root = server.default
    check(root is not None and root in server.api_roots, "default API root")
    check("application/taxii+json;version=2.1" in root.versions, "root versions")
    found = [c for c in root.collections if c.id == collection_id]
    check(len(found) == 1, "the agreement's collection is listed")
    return root, found[0]


def indicator(i):
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": f"Scanner {i}", "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.{i // 256}.{i % 256}']",
        "pattern_type": "stix", "valid_from": "2026-12-01T10:00:00Z",
        "object_marking_refs": [GREEN],
    }


# The provider adds indicators and one object the agreement does not allow (malware).
_, provider_collection = collection_of(os.environ["PROVIDER_TOKEN"], agreement)
check(provider_collection.can_write, "the provider may write")
sent = [indicator(i) for i in range(count)]
malware = {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
           "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
           "name": "Loader", "is_family": True, "object_marking_refs": [GREEN]}
bad = {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid"}
status = provider_collection.add_objects({"objects": sent + [malware, bad]})
check(status.status == "complete", "status complete")
check(status.success_count == count + 1, f"successes {status.success_count}")
check(status.failure_count == 1 and status.failures[0]["id"] == bad["id"], "one failure, the bad one")

# The customer reads them, page by page, and validates every object it gets.
root, collection = collection_of(os.environ["CUSTOMER_TOKEN"], agreement)
objects = []
pages = 0
for envelope in as_pages(collection.get_objects, per_request=40):
    pages += 1
    objects.extend(envelope.get("objects", []))
ids = {o["id"] for o in objects}
check(ids == {o["id"] for o in sent}, f"the walk returns exactly the indicators ({len(ids)})")
for o in objects:
    result = validate_instance(o, OPTIONS)
    check(result.is_valid, f"stix2-validator: {o['id']}: {[str(e) for e in result.errors]}")
manifest = []
for envelope in as_pages(collection.get_manifest, per_request=100):
    manifest.extend(envelope.get("objects", []))
check(len(manifest) == count, f"manifest entries {len(manifest)}")
check(all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest), "media types")
one = sent[0]["id"]
versions = collection.object_versions(one)
check(versions["versions"] == ["2026-12-01T10:00:00.000Z"], f"versions {versions}")
got = collection.get_object(one)
check([o["id"] for o in got["objects"]] == [one], "get_object")
# A poll after the newest date_added of the walk returns what was added since, and only it.
newest = max(m["date_added"] for m in manifest)
time.sleep(0.01)
later = [indicator(count + i) for i in range(10)]
status = provider_collection.add_objects({"objects": later})
check(status.success_count == 10, "second batch added")
tail = collection.get_objects(added_after=newest)
polled = sorted(o["id"] for o in tail.get("objects", []))
check(polled == sorted(o["id"] for o in later), f"added_after poll returned {len(polled)}")
polled = len(polled)
by_type = collection.get_objects(type="malware")
check(not by_type.get("objects"), "malware is not in the agreement's categories")
print(json.dumps({"objects": len(objects), "pages": pages, "manifest": len(manifest),
                  "validated": len(objects), "polled": polled}))
