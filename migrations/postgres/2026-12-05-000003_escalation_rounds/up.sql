-- Steps are numbered across rounds: an un-acknowledgement starts the ladder again from its
-- first level at this global step number, past every step the closed round could have
-- queued, so no job or notice of one round is mistaken for one of the next.
ALTER TABLE escalations ADD COLUMN step_base INTEGER NOT NULL DEFAULT 0;
