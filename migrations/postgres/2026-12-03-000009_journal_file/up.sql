-- SQLite only: the disclosure journal moves to a file of its own there (see that
-- migration). On PostgreSQL a commit does not invalidate the other sessions' caches, and the
-- journal stays a table of the database, committed with the rest.
SELECT 1;
