"""The garbage collector's settings for the server (services/collector.py): a larger young generation, and the
objects alive at startup kept out of every collection's scan."""
from __future__ import annotations

import gc

from services import collector


def test_the_young_and_the_oldest_generations_wait_longer_the_middle_one_keeps_its_factor() -> None:
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, before[1], collector.OLD_THRESHOLD)
    finally:
        gc.set_threshold(*before)


def test_startup_objects_are_frozen_out_of_the_scan() -> None:
    frozen_before = gc.get_freeze_count()
    alive_at_start = [object() for _ in range(10)] + [{'startup': n} for n in range(1000)]
    try:
        collector.freeze_startup_objects()
        assert gc.get_freeze_count() >= frozen_before + 1000
        assert all(not any(o is f for f in gc.get_objects()) for o in alive_at_start[10:20])
    finally:
        gc.unfreeze()


async def test_after_200_closed_pages_a_quiet_moment_brings_a_full_collection(monkeypatch) -> None:
    import asyncio
    import weakref

    class Page:
        pass

    def closed_page() -> weakref.ref:
        page = Page()
        page.myself = page  # a cycle: reference counting alone never frees it
        return weakref.ref(page)

    trims: list[bool] = []
    monkeypatch.setattr(collector, 'release_freed_memory', lambda: trims.append(True))
    monkeypatch.setattr(collector, '_closed', {'count': 0, 'timer': None})
    monkeypatch.setattr(collector, 'QUIET_SECONDS', 0.2)
    enabled = gc.isenabled()
    gc.disable()  # only page_closed collects here
    try:
        left = closed_page()
        for _ in range(collector.FULL_COLLECTION_EVERY):
            collector.page_closed()
        for _ in range(3):  # pages still closing: not in the middle of that
            await asyncio.sleep(0.1)
            collector.page_closed()
        assert left() is not None and not trims
        await asyncio.sleep(0.4)  # quiet
        assert left() is None and trims == [True]  # collected, and the memory handed back
        assert collector._closed['count'] == 0
    finally:
        if enabled:
            gc.enable()
