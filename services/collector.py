"""Python's garbage collector set for a server that holds many open pages (issue 15: pauses under load).

Every page a person opens is a few thousand Python objects in reference cycles (NiceGUI's elements and their
observable props, the page's socket and request objects). They live on for seconds after the tab closes (NiceGUI
waits for a reconnect), so with CPython's default thresholds (700, 10, 10) they reach the oldest generation, and under
load a full collection ran every two or three seconds. Each one stops the event loop for as long as it takes to scan
every live page: 300-500 ms with 200 contacts connected (measured by benchmarks/user_feel.py), which set the p95 of
a page open. Here:
- `freeze_startup_objects()`: what is alive once the server has started (modules, tables, compiled queries, routes)
  lives as long as the process; `gc.freeze` takes it out of every collection's scan;
- `tune()`: a young generation of 2,000 objects instead of 700, so most of a page open's temporary objects die
  before a collection looks at them and far fewer are promoted; full collections become rare (tried with the
  benchmark: at 1,500 they still paused pages often; 3,000 to 10,000 paused as rarely but left 8-20 MiB more
  memory after a burst of sign-ins, as garbage waits longer between full collections);
- `collect_when_quiet()`: the full collection the thresholds now postpone runs when the event loop has been
  quiet for a second, with no pause anyone waits for, and hands what glibc can give back to the system. Under
  constant load CPython's own rule (a full collection once the objects promoted since the last one reach a
  quarter of the old generation) still bounds the memory.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable
from functools import lru_cache

YOUNG_THRESHOLD = 2_000
QUIET_CHECK_SECONDS = 1.0
QUIET_LOOP_SHARE = 0.05  # the loop thread busy for less than 5% of the last check interval counts as quiet


def tune() -> None:
    """Raise the young generation's threshold (the older generations keep CPython's factors of 10)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def freeze_startup_objects() -> None:
    """Move everything alive at startup out of the collector's sight (`gc.freeze`): each collection then scans only
    what pages created since. Nothing is kept alive that would otherwise be freed: these objects live as long as
    the process. `main.py serve` calls it once the server has started."""
    gc.collect()
    gc.freeze()


def collection_due() -> bool:
    """True when objects reached an older generation since the last full collection (otherwise it finds nothing)."""
    _, middle, old = gc.get_count()
    return middle > 0 or old > 0


async def collect_when_quiet(check_seconds: float = QUIET_CHECK_SECONDS) -> None:
    """Run forever on the event loop: a full collection whenever the loop was quiet through the last check and one
    is due. Runs in the loop's own thread, so `time.thread_time` is the loop's CPU time."""
    busy_before, wall_before = time.thread_time(), time.monotonic()
    while True:
        await asyncio.sleep(check_seconds)
        busy, wall = time.thread_time(), time.monotonic()
        quiet = busy - busy_before < QUIET_LOOP_SHARE * (wall - wall_before)
        if quiet and collection_due():
            gc.collect()
            release_freed_memory()
        busy_before, wall_before = time.thread_time(), time.monotonic()


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim(3), or None elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Hand the memory just freed back to the system (glibc's malloc_trim(3)); glibc otherwise keeps it for good."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
