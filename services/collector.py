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
- `page_closed()`: a full collection after every 200 closed pages (main.py calls it as NiceGUI deletes a page), so
  what closed pages leave in reference cycles does not wait for CPython's rule below (6 MiB less after 100 sign-ins).

Under load CPython's own rule (a full collection once the objects promoted since the last one reach a quarter of the
old generation) still bounds the memory. (A full collection run whenever the loop had been quiet for a second was
tried and dropped: it put its pause on the first keystroke after a quiet moment, and RSS did not fall after it.)
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache

YOUNG_THRESHOLD = 2_000


def tune() -> None:
    """Raise the young generation's threshold (the older generations keep CPython's factors of 10)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


FULL_COLLECTION_EVERY = 200  # closed pages
_closed = [0]


def page_closed() -> None:
    """Count a closed page; after every FULL_COLLECTION_EVERY of them, a full collection, and the memory it freed
    handed back to the system.

    A closed page leaves garbage in reference cycles (its socket's protocol objects, handlers that hold their
    elements) that only a full collection frees; CPython runs one only when the objects promoted since the last one
    reach a quarter of the old generation, so after a burst of sign-ins about 35,000 such objects (8 MiB) stayed."""
    _closed[0] += 1
    if _closed[0] >= FULL_COLLECTION_EVERY:
        _closed[0] = 0
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
