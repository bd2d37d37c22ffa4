"""Alembic environment: SQLModel metadata, batch mode on SQLite, engine handed in by services.db.

Run by the portal at start (`services.db.migrate`, engine handed in) and by the `alembic` command line, which
finds the database the way the portal does (DATABASE_URL, else SQLite in SMP_DATA_DIR). Migrations take a lock
first (a PostgreSQL advisory lock; a file lock next to an SQLite database) so any number of processes may start
at once on an empty database: the first migrates, the others wait and then find nothing left to do.
"""
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from services import db

target_metadata = SQLModel.metadata
MIGRATION_LOCK_ID = 0x534D505F4D4947  # "SMP_MIG": the PostgreSQL advisory lock every migrating process takes


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database-wide migration lock while the block runs."""
    if connection.dialect.name == 'postgresql':
        connection.exec_driver_sql(f'SELECT pg_advisory_lock({MIGRATION_LOCK_ID})')
        connection.commit()  # a session-level lock: it outlives the transaction that took it
        try:
            yield
        finally:
            connection.exec_driver_sql(f'SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})')
            connection.commit()
        return
    database = connection.engine.url.database
    if not database or database == ':memory:':
        yield
        return
    with open(Path(database).with_name(Path(database).name + '.migrate-lock'), 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_migrations_online() -> None:
    engine = context.config.attributes.get('engine')
    own_engine = engine is None and db._engine is None
    if engine is None:
        if own_engine:  # the alembic command line: the portal's own URL logic
            from services.config import get_config
            engine = db.make_engine(get_config().resolved_database_url)
        else:
            engine = db.engine()
    try:
        with engine.connect() as connection, migration_lock(connection):
            sqlite = connection.dialect.name == 'sqlite'
            if sqlite:
                # batch mode rebuilds a table by copying and dropping it: with rows pointing at it, SQLite refuses
                # the DROP while foreign keys are enforced (the pragma only takes effect outside a transaction)
                connection.exec_driver_sql('PRAGMA foreign_keys=OFF')
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                connection.exec_driver_sql('PRAGMA foreign_keys=ON')
                connection.commit()
    finally:
        if own_engine:
            engine.dispose()


run_migrations_online()
