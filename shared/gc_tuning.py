"""Garbage-collector tuning for a service process: freeze what startup built, collect young objects less often.

A consumed batch allocates tens of thousands of short-lived objects (models, tuples, dicts).
With CPython's default threshold (700 allocations) the cyclic collector runs hundreds of
times per batch and each older-generation pass walks every live object, including the
hundred thousand that imports and startup left behind: measured on the payment hot path
(decode + decide), a third of the CPU time. Reference counting still frees almost
everything at once; the cyclic collector only has to find reference cycles, which are
rare here, so it can run less often. `gc.freeze()` moves the startup objects into a
permanent generation the collector no longer scans.
"""
from __future__ import annotations

import gc


def tune(gen0_threshold: int) -> None:
    """Freeze the objects alive now and set the youngest generation's threshold (0 keeps Python's)."""
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
