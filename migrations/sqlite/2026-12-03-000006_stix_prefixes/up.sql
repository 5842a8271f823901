-- The network prefix lengths present in the value index, per kind: a lookup of an address
-- probes only the networks of those lengths (usually none) instead of all 32 or 128.
CREATE TABLE stix_prefixes (
    kind TEXT NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (kind, len)
);
INSERT INTO stix_prefixes (kind, len)
    SELECT DISTINCT kind, CAST(substr(value, instr(value, '/') + 1) AS INTEGER)
    FROM stix_values WHERE kind IN ('ipv4', 'ipv6') AND instr(value, '/') > 0;
