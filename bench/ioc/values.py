"""Writes the values the lookup benchmark asks for: half held by some organisation, half
(addresses in 172.16.0.0/12) by nobody.

    python3 values.py FILE COUNT
"""
import random
import sys

from gen import value

path, count = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(path, "w") as f:
    for i in range(20000):
        if i % 2:
            f.write(value(random.randrange(count))[1] + "\n")
        else:
            f.write(f"172.{random.randrange(16, 32)}.{random.randrange(256)}.{random.randrange(256)}\n")
