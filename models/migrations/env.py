"""Alembic environment for SQLModel: batch mode on SQLite so ALTERs work there too."""

from alembic import context

import models
from models.db import make_engine
from models.search_index import include_object

config = context.config
target_metadata = models.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
