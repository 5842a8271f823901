-- An object passed on by a recipient: `via` is the organisation that received it from its
-- owner and shares it under `agreement_id` (one of its own agreements); NULL when the owner
-- shares it. The decision for such a share walks owner -> via -> reader.
ALTER TABLE stix_shares ADD COLUMN via TEXT;
