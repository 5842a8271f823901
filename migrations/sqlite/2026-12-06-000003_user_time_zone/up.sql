-- A person's chosen IANA time zone: the console shows times in it (the browser's when unset).
ALTER TABLE users ADD COLUMN time_zone TEXT;
