"""Engine, sessions and migrations: one code path for SQLite and PostgreSQL, chosen by the URL."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from . import validate
from .errors import InvalidInput

T = TypeVar('T')
ROOT = Path(__file__).resolve().parent.parent
UNSTORABLE = 'The text contains a character that cannot be used.'

_engine: Engine | None = None
_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get the pragmas the design requires."""
    if url.startswith('sqlite'):
        engine = sa.create_engine(url, connect_args={'check_same_thread': False, 'timeout': 30})
        sa.event.listen(engine, 'connect', _sqlite_pragmas)
    else:
        if url.startswith('postgresql://'):
            url = 'postgresql+psycopg://' + url.removeprefix('postgresql://')
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    sa.event.listen(engine, 'before_cursor_execute', _refuse_unstorable_parameters)
    return engine


def _refuse_unstorable_parameters(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                                  _executemany: bool) -> None:
    """Text PostgreSQL cannot take (NUL, a lone surrogate) is refused the same way on SQLite, even in a search."""
    for value in _flat(parameters):
        if isinstance(value, str) and not validate.storable(value):
            raise InvalidInput(UNSTORABLE)
        if isinstance(value, int) and not -2**63 <= value < 2**63:  # SQLite cannot bind it; PostgreSQL can
            raise InvalidInput('A number is out of range.')


def _flat(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, dict):
        yield from parameters.values()
    elif isinstance(parameters, (list, tuple)):
        for item in parameters:
            if isinstance(item, (dict, list, tuple)):
                yield from _flat(item)
            else:
                yield item


def _check_lengths(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Before any row is written: every text within its column's length and storable, on every backend.

    SQLite ignores VARCHAR lengths and PostgreSQL fails the whole transaction on them; services validate their
    inputs with clear messages, and this catches anything they missed with the same answer on both.
    """
    for obj in [*session.new, *session.dirty]:
        table = getattr(type(obj), '__table__', None)
        if table is None:
            continue
        for column in table.columns:
            value = getattr(obj, column.key, None)
            if not isinstance(value, str):
                continue
            label = column.name.replace('_', ' ').capitalize()
            length = getattr(column.type, 'length', None)
            if length and len(value) > length:
                raise InvalidInput(f'{label} can have at most {length:,} characters.')
            if not validate.storable(value):
                raise InvalidInput(f'{label} contains a character that cannot be used.')


sa.event.listen(OrmSession, 'before_flush', _check_lengths)


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
