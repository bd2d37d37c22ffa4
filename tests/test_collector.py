"""The garbage collector's settings for the server (services/collector.py): a larger young generation, and the
postponed full collection run while the event loop is quiet, never while it is busy."""
from __future__ import annotations

import asyncio
import gc
import time

import pytest

from services import collector


def test_the_young_generation_is_larger_and_the_older_ones_keep_their_factors() -> None:
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.set_threshold(*before)


def test_a_full_collection_is_due_only_once_objects_reached_an_older_generation() -> None:
    gc.collect()
    assert not collector.collection_due()
    gc.collect(0)  # the young generation's survivors move on
    assert collector.collection_due()


async def _collections_while(monkeypatch: pytest.MonkeyPatch, busy: bool) -> list[int]:
    ran: list[int] = []
    monkeypatch.setattr(collector.gc, 'collect', lambda *args: ran.append(1) or 0)
    monkeypatch.setattr(collector, 'collection_due', lambda: True)
    watcher = asyncio.ensure_future(collector.collect_when_quiet(check_seconds=0.05))
    try:
        ends = time.monotonic() + 0.5
        while time.monotonic() < ends:
            if busy:
                spin = time.monotonic() + 0.02  # the loop's own thread at work, as when pages are built
                while time.monotonic() < spin:
                    pass
            await asyncio.sleep(0.001 if busy else 0.05)
    finally:
        watcher.cancel()
    return ran


async def test_the_full_collection_runs_while_the_loop_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(await _collections_while(monkeypatch, busy=False)) >= 3


async def test_no_full_collection_runs_while_the_loop_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _collections_while(monkeypatch, busy=True) == []
