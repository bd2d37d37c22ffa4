"""The API's rate limit is counted in the database: two limiters in two threads with their own sessions (as two
portal processes have) share one client's count, and the window starts afresh after a minute."""
from __future__ import annotations

import threading

from api import auth
from models import Throttle
from services import api_clients, db


def test_two_sessions_share_one_clients_count(database, clock) -> None:
    answers: list[float | None] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def calls() -> None:
        limiter = auth.RateLimiter()  # each process has its own
        start.wait()
        for _ in range(10):
            wait = limiter.check('client:7', 12)
            with lock:
                answers.append(wait)
    workers = [threading.Thread(target=calls) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(wait is None for wait in answers) == 12  # not 20: each "process" did not count on its own
    assert all(wait is None or 0 < wait <= 60 for wait in answers) and len(answers) == 20
    assert auth.limiter.check('client:8', 12) is None  # another client has its own count
    clock.advance(seconds=30)
    assert auth.limiter.check('client:7', 12) == 30  # retry after the window's end
    clock.advance(seconds=31)
    assert auth.limiter.check('client:7', 12) is None  # a new window
    rows = db.run(lambda session: {(t.key, t.failures) for t in session.query(Throttle).all()})
    assert rows == {('client:7', 1), ('client:8', 1)}


def test_old_windows_are_dropped_and_reset_forgets_every_count(database, clock) -> None:
    assert auth.limiter.check('ip:192.0.2.1', 1) is None
    assert auth.limiter.check('ip:192.0.2.1', 1) == 60
    clock.advance(hours=2)
    assert auth.limiter.check('ip:192.0.2.2', 1) is None  # a new key's row: rows older than an hour go
    keys = db.run(lambda session: [t.key for t in session.query(Throttle).all()])
    assert keys == ['ip:192.0.2.2']
    auth.limiter.reset()
    assert db.run(lambda session: session.query(Throttle).filter(Throttle.scope == api_clients.RATE_SCOPE).count()) == 0
