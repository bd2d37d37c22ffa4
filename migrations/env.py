"""Alembic environment: SQLModel metadata, batch mode on SQLite, engine handed in by services.db."""
from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from services import db

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get('engine') or db.engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == 'sqlite',
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
