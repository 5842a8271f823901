-- The observable values of every object's newest version (indicator patterns, observables),
-- normalised: what lookups seek. A network's ip_key (its address as fixed-width hex) finds
-- what lies inside a looked-up network; an address finds the networks holding it through
-- their exact keys.
CREATE TABLE stix_values (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    object_key TEXT NOT NULL REFERENCES stix_objects(key),
    ip_key TEXT,
    PRIMARY KEY (kind, value, object_key)
) WITHOUT ROWID;
CREATE INDEX stix_values_object ON stix_values(object_key);
CREATE INDEX stix_values_ip ON stix_values(kind, ip_key);

-- Sightings reported back to an object's owner by a recipient, under the agreement that
-- let the object reach it.
CREATE TABLE stix_sightings (
    id TEXT PRIMARY KEY,
    object_key TEXT NOT NULL REFERENCES stix_objects(key),
    reporter_id TEXT NOT NULL REFERENCES organisations(id),
    agreement_id TEXT NOT NULL REFERENCES agreements(id),
    count INTEGER NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    note TEXT,
    reported_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX stix_sightings_object ON stix_sightings(object_key, created_at);
