"""Engine, sessions and migrations: one code path for SQLite and PostgreSQL, chosen by the URL."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

T = TypeVar('T')
ROOT = Path(__file__).resolve().parent.parent

_engine: Engine | None = None
_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get the pragmas the design requires."""
    if url.startswith('sqlite'):
        engine = sa.create_engine(url, connect_args={'check_same_thread': False, 'timeout': 30})
        sa.event.listen(engine, 'connect', _sqlite_pragmas)
        return engine
    if url.startswith('postgresql://'):
        url = 'postgresql+psycopg://' + url.removeprefix('postgresql://')
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.execute('PRAGMA synchronous=FULL')
    cursor.close()


def init(url: str) -> Engine:
    """Point the process at a database (replacing any previous engine)."""
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = make_engine(url)
    return _engine


def engine() -> Engine:
    """The process engine (`init` must have been called)."""
    if _engine is None:
        raise RuntimeError('database not initialised: call services.db.init(url) first')
    return _engine


def is_postgres() -> bool:
    """True when the current engine talks to PostgreSQL."""
    return engine().dialect.name == 'postgresql'


@contextmanager
def transaction() -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    with Session(engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def run(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call `fn(session=..., **kwargs)` in its own transaction (pages run this off the event loop)."""
    with transaction() as session:
        return fn(session=session, **kwargs)


def alembic_config(url: str | None = None) -> Any:
    """Alembic configuration for this project's migrations folder."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / 'alembic.ini'))
    cfg.set_main_option('script_location', str(ROOT / 'migrations'))
    cfg.attributes['engine'] = engine() if url is None else make_engine(url)
    return cfg


def migrate(url: str | None = None) -> None:
    """Apply every migration not yet applied (run at start)."""
    from alembic import command

    cfg = alembic_config(url)
    try:
        command.upgrade(cfg, 'heads')
    finally:
        if url is not None:
            cfg.attributes['engine'].dispose()
