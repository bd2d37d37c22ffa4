"""Engine, sessions and migrations: one code path for SQLite and PostgreSQL, chosen by the URL."""
from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
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
log = logging.getLogger('smp.db')


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened at start; the message is one line for the operator."""

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get the pragmas the design requires."""
    if url.startswith('sqlite'):
        engine = sa.create_engine(url, connect_args={'check_same_thread': False, 'timeout': 30})
        sa.event.listen(engine, 'connect', _sqlite_pragmas)
    else:
        if url.startswith('postgresql://'):
            url = 'postgresql+psycopg://' + url.removeprefix('postgresql://')
        # a black-holed server fails after 10 s instead of the operating system's minutes
        connect_args = {} if 'connect_timeout' in url else {'connect_timeout': 10}
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args)
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


def where() -> str:
    """The database's location for a log line: host, port and name, never the user or password."""
    url = engine().url
    if url.get_backend_name() == 'sqlite':
        return f'SQLite {url.database}'
    return f'PostgreSQL {url.host or "localhost"}:{url.port or 5432}/{url.database}'


def _reason(error: BaseException) -> str:
    original = getattr(error, 'orig', None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0].removeprefix('connection failed: ') if lines else type(original).__name__


def wait_until_reachable(wait_seconds: float) -> None:
    """Connect once; PostgreSQL is retried with backoff (one log line per attempt) for up to `wait_seconds`.

    Raises DatabaseUnavailable with one line: exit code 3 after PostgreSQL stayed unreachable (a supervisor may
    try again later), 2 for an SQLite file that cannot be opened (a configuration error).
    """
    deadline = time.monotonic() + wait_seconds
    attempt, delay = 0, 0.5
    while True:
        attempt += 1
        try:
            with engine().connect() as connection:
                connection.exec_driver_sql('select 1')
            if attempt > 1:
                log.info('%s is reachable (attempt %d)', where(), attempt)
            return
        except sa.exc.OperationalError as error:
            reason = _reason(error)
            if not is_postgres():
                raise DatabaseUnavailable(f'database error: cannot open {where()} ({reason}): use a writable path '
                                          f'in DATABASE_URL or SMP_DATA_DIR', exit_code=2) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseUnavailable(
                    f'database error: {where()} is unreachable after {attempt} attempt(s) in {wait_seconds:g} s '
                    f'({reason}): check DATABASE_URL, or wait longer with SMP_DB_WAIT_SECONDS') from None
            pause = min(delay, remaining)
            log.warning('%s is not reachable (attempt %d: %s); retrying in %.1f s', where(), attempt, reason, pause)
            time.sleep(pause)
            delay = min(delay * 2, 5.0)


def is_postgres() -> bool:
    """True when the current engine talks to PostgreSQL."""
    return engine().dialect.name == 'postgresql'


_PREPARED: dict[str, Any] = {}


def prepared(name: str, build: Callable[[], T]) -> T:
    """The statement `build()` returns, built once per process under `name` (values go in as bound parameters).

    For the reads of every page open: building a statement (SQLAlchemy's expression objects and cache key) costs
    more CPU than running it on an indexed table."""
    statement = _PREPARED.get(name)
    if statement is None:
        statement = _PREPARED[name] = build()
    return statement


def rows(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """Run a statement of plain columns (no ORM entities) in the session's transaction and return its result.

    For the reads of every page open, with `prepared` statements: the ORM's per-statement work (entity set-up,
    result wrapping) cost about as much as running them. Pending changes are flushed first, as the ORM would."""
    session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params)


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


def current_revision() -> str:
    """The migration revision the database is at (empty when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine().connect() as connection:
        return ','.join(MigrationContext.configure(connection).get_current_heads())


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration revision this version of the portal knows."""
    from alembic.script import ScriptDirectory

    return ','.join(ScriptDirectory(str(ROOT / 'migrations')).get_heads())
