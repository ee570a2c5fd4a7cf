"""Schema migrations (alembic, shipped inside the package; no alembic.ini on disk)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from connector.store.engine import begin

MIGRATIONS = Path(__file__).with_name("migrations")

# Any constant works; it only has to be the same for every tierdesk process on one database.
_PG_MIGRATION_LOCK = 0x7469_6572_6465_736B  # "tierdesk"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction. Idempotent; on PostgreSQL concurrent
    callers (several workers starting together) wait on an advisory lock instead of racing."""
    with engine.connect() as connection:
        begin(connection, write=True)
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)
        connection.commit()
