"""Runs one SQL query against the benchmark's database (a SQLite file path, or a
postgres:// URL through psql) and prints the rows, tab-separated.

    python3 sql.py DATABASE "SELECT ..."
"""
import sqlite3
import subprocess
import sys

db, query = sys.argv[1], sys.argv[2]
if db.startswith("postgres"):
    sys.stdout.write(subprocess.run(["psql", db, "-AtF", "\t", "-c", query], check=True, capture_output=True, text=True).stdout)
else:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for row in con.execute(query):
        print("\t".join(str(v) for v in row))
