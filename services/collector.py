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
  memory after a burst of sign-ins, as garbage waits longer between full collections); and a full collection after
  100 middle ones instead of 10, as `page_closed` runs them when the loop is quiet;
- `page_closed()`: a full collection after 200 closed pages, at the next quiet moment (main.py calls it as NiceGUI
  deletes a page), so what closed pages leave in reference cycles does not wait for CPython's rule below.

Under load CPython's own rule (a full collection once the objects promoted since the last one reach a quarter of the
old generation) still bounds the memory. (A full collection run whenever the loop had been quiet for a second was
tried and dropped: it put its pause on the first keystroke after a quiet moment, and RSS did not fall after it,
when closed pages were still cycles of every element; `page_closed` collects only after 200 closed pages.)
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from functools import lru_cache
from typing import Any

YOUNG_THRESHOLD = 2_000


# the oldest generation: a full collection after 100 middle ones instead of 10; `page_closed` runs the full
# collections a quiet moment allows, and with CPython's 10 one ran in the middle of each burst of 100 sign-ins,
# stopping the loop for 120-190 ms (another contact's slowest page open during the burst: 150-210 ms, 80-100 after)
OLD_THRESHOLD = 100


def tune() -> None:
    """Raise the young generation's threshold and the oldest one's (the middle keeps CPython's factor of 10)."""
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, OLD_THRESHOLD)


FULL_COLLECTION_EVERY = 200  # closed pages
QUIET_SECONDS = 2.0  # ... then once no page has closed for this long (not in the middle of a burst)
_closed: dict[str, Any] = {'count': 0, 'timer': None}


def page_closed() -> None:
    """Count a closed page (call it on the event loop); once FULL_COLLECTION_EVERY have closed, a full collection as
    soon as no page has closed for QUIET_SECONDS, and the memory it freed handed back to the system.

    A closed page leaves garbage in reference cycles (its socket's protocol objects, handlers that hold their
    elements) that only a full collection frees; CPython runs one only when the objects promoted since the last one
    reach a quarter of the old generation, so after a burst of sign-ins about 35,000 such objects (8 MiB) stayed.
    Waiting for a quiet moment keeps the collection's pause out of the burst itself, and it scans few pages then."""
    _closed['count'] += 1
    if _closed['count'] < FULL_COLLECTION_EVERY:
        return
    if _closed['timer'] is not None:
        _closed['timer'].cancel()
    try:
        _closed['timer'] = asyncio.get_running_loop().call_later(QUIET_SECONDS, _collect)
    except RuntimeError:  # no event loop (a page deleted at shutdown): now
        _collect()


def _collect() -> None:
    _closed['count'], _closed['timer'] = 0, None
    gc.collect()
    release_freed_memory()


def freeze_startup_objects() -> None:
    """Move everything alive at startup out of the collector's sight (`gc.freeze`): each collection then scans only
    what pages created since. Nothing is kept alive that would otherwise be freed: these objects live as long as
    the process. `main.py serve` calls it once the server has started."""
    gc.collect()
    gc.freeze()


M_MMAP_THRESHOLD = -3  # mallopt(3) parameter number (glibc malloc.h)


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """The C library (glibc's allocator controls), or None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None


def release_freed_memory() -> None:
    """Hand the memory just freed back to the system (glibc's malloc_trim(3)); glibc otherwise keeps it for good."""
    libc = _libc()
    if libc is not None and hasattr(libc, 'malloc_trim'):
        libc.malloc_trim(0)


def map_blocks_from(size: int) -> None:
    """Have glibc give every block of `size` bytes or more its own mapping, returned to the system when freed
    (mallopt(3) M_MMAP_THRESHOLD; by default glibc raises the threshold to the largest block freed, up to 32 MiB)."""
    libc = _libc()
    if libc is not None and hasattr(libc, 'mallopt'):
        libc.mallopt(M_MMAP_THRESHOLD, size)
