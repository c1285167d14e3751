"""The garbage collector while a world runs: young objects are collected in larger rounds.

A world makes objects by the hundred thousand at every tick (requests, answers, moto's copies of what it answers)
and keeps about 300,000 long-lived ones (botocore's service models, moto's backends and data); with Python's
default thresholds (700, 10, 10) the 300-hire adoption scenario spent about 2 s of its 13-15 s of CPU in the
collector, 1.5 s of it in four full collections (measured with `gc.callbacks`; docs/performance.md). While a
world runs, the youngest generation is collected every 20,000 allocations instead of 700: fewer objects survive
into the older generations, so they are collected less often (the same scenario: 188 young, 17 middle and 1 full
collection, 0.8 s). Cycles are still found, a little later; the other thresholds are Python's. When the world
closes, the thresholds come back. `LOCALCLOUD_FAST=0` keeps Python's settings (the baseline).

(Tried and not kept: `gc.freeze()` once the world is built. It saved no more, and it would have set aside the
garbage a previous world in the same process had left, which the next world's freeze would set aside again.)
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from localcloud import fast_json

YOUNGEST_THRESHOLD = 20_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[bool]:
    """While the block runs; yields whether the thresholds were changed."""
    if not fast_json.enabled():
        yield False
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(max(YOUNGEST_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        yield True
    finally:
        gc.set_threshold(*thresholds)
