#!/usr/bin/env python3
"""Regenerates the snapshot corpus: python3 gen.py OUT_DIR [scenario ...]"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import SCENARIOS  # noqa: E402
import scenarios2  # noqa: E402,F401
import scenarios3  # noqa: E402,F401
import scenarios4  # noqa: E402,F401

out = sys.argv[1]
only = sys.argv[2:]
os.makedirs(out, exist_ok=True)
for name, fn in SCENARIOS.items():
    if only and name not in only:
        continue
    c, exp = fn()
    assert c.name == name, (c.name, name)
    d = c.write(out, exp)
    n = len(c.objs)
    print(f"{name}: {n} objects, {len(c.logs)} logs")
