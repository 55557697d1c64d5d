"""Alembic environment: run the revisions on the connection handed over by
:func:`quantbridge.runtime.store.migrate.upgrade_to_head` (or on ``sqlalchemy.url``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from quantbridge.runtime.store.schema import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection and no sqlalchemy.url: use quantbridge.runtime.store.migrate")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()
