"""Alembic environment for the tierdesk store.

`connector.store.migrate.upgrade` runs it with an open connection in `config.attributes`; the
`alembic` command line works too when given a URL (`-x url=...` or `$TIERDESK_DB`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from connector.store import tables
from connector.store.engine import create_store_engine, resolve_url

config = context.config
target_metadata = tables.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_store_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("url")))
    try:
        with engine.connect() as fresh:
            _run(fresh)
            fresh.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("tierdesk migrations run against a live database; offline SQL is not supported")
run_migrations_online()
