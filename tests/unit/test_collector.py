"""The collector's settings for serving (`chinwag.collector`), checked in a fresh interpreter so
that the test process keeps its own."""

from __future__ import annotations

import subprocess
import sys

SETTLED = """
import gc, weakref
from chinwag import collector

before = gc.get_freeze_count()
collector.settle()
print(gc.get_threshold()[0], before == 0 < gc.get_freeze_count())

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle: only the collector frees it
gone = weakref.ref(a)
del a, b
kept = [[] for _ in range(collector.YOUNG_THRESHOLD * 2)]  # enough to start a collection
print(gone() is None)
"""


def test_start_up_objects_are_frozen_and_cycles_are_still_collected() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SETTLED], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out == ["20000", "True", "True"]
