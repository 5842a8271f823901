DROP TABLE incident_records;
