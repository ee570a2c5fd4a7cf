"""CPython's cyclic garbage collector, set for the sync's allocation pattern.

A sync page allocates hundreds of thousands of short-lived containers (decoded JSON documents,
events, clock records, planned actions), almost all freed by reference counting when the page is
done. With CPython's default thresholds (a young collection every 700 net allocations) those
allocations trigger thousands of collections per page, and the full ones walk every live object,
the modules and the loaded mappings included: about a quarter of a first sync's CPU
(`bench/backfill.py`: a first sync of 10,000 tickets took 23.2 s CPU with the defaults, 17.4 s like
this).

`settle_for_sync()` is called once the worker has built its application: what exists then
(modules, mappings, calendars, the policy) lives as long as the process, so it is moved out of
the collector's view (`gc.freeze`), and young collections run every `YOUNG_THRESHOLD`
allocations. Only garbage in reference cycles waits for a collection; the rest is freed at once,
so memory stays where it was (peak RSS unchanged in the same bench).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # net container allocations between young collections (CPython: 700)
MIDDLE_THRESHOLD = 20  # young collections between middle ones (CPython: 10)
OLD_THRESHOLD = 100  # middle collections between full ones (CPython: 10)


def settle_for_sync() -> None:
    """Freeze what the process has built so far and raise the collection thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
