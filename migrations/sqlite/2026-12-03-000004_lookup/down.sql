DROP TABLE stix_sightings;
DROP TABLE stix_values;
