"""Alembic environment: SQLModel metadata, batch mode on SQLite, engine handed in by services.db."""
from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from services import db

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get('engine') or db.engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == 'sqlite'
        if sqlite:
            # batch mode rebuilds a table by copying and dropping it: with rows pointing at it, SQLite refuses
            # the DROP while foreign keys are enforced (the pragma only takes effect outside a transaction)
            connection.exec_driver_sql('PRAGMA foreign_keys=OFF')
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == 'sqlite',
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.exec_driver_sql('PRAGMA foreign_keys=ON')
            connection.commit()


run_migrations_online()
