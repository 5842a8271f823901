DROP TABLE import_chunks;
DROP TABLE imports;
