DROP TABLE milestone_edits;
ALTER TABLE incidents DROP COLUMN exercise;
