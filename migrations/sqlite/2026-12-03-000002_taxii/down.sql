DROP TABLE taxii_statuses;
