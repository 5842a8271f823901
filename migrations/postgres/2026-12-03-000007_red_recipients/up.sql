-- TLP:RED objects name the persons they may reach (a JSON array of lower-case e-mail
-- addresses); NULL for every other object. Kept on the object, not in its STIX body: it is
-- who the owner lets see it, not what the object says.
ALTER TABLE stix_objects ADD COLUMN named_recipients TEXT;
