"""Reads cirhub's exports as other tools do: every object of the STIX bundle through the
OASIS validator (stix2-validator), the MISP event through PyMISP, the CSV through Python's
csv module. Prints what each holds as JSON.

    python check.py BUNDLE MISP CSV
"""
import csv
import json
import sys

from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_instance

bundle_path, misp_path, csv_path = sys.argv[1:4]

with open(bundle_path) as f:
    bundle = json.load(f)
assert bundle["type"] == "bundle" and bundle["id"].startswith("bundle--"), bundle.get("id")
invalid = []
for o in bundle["objects"]:
    r = validate_instance(o, ValidationOptions(strict=False))
    if not r.is_valid:
        invalid.append({"id": o.get("id"), "errors": [str(e) for e in r.errors]})

event = MISPEvent()
with open(misp_path) as f:
    event.load(f.read())
attributes = sorted(
    ({"type": a.type, "value": a.value, "to_ids": bool(a.to_ids), "tags": sorted(t.name for t in a.tags)}
     for a in event.attributes),
    key=lambda a: (a["type"], a["value"]),
)

with open(csv_path, newline="") as f:
    rows = list(csv.DictReader(f))

print(json.dumps({
    "stix_ids": sorted(o["id"] for o in bundle["objects"]),
    "invalid": invalid,
    "misp_info": event.info,
    "misp_tags": sorted(t.name for t in event.tags),
    "misp_attributes": attributes,
    "csv": sorted(rows, key=lambda r: r["value"]),
}))
