"""Store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from `$TIERDESK_TEST_PG` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`);
each test gets a fresh schema, dropped afterwards. Without a reachable server those runs skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from connector.store.engine import resolve_url
from connector.store.repository import Store

DEFAULT_TEST_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_base_url() -> sa.URL:
    return resolve_url(os.environ.get("TIERDESK_TEST_PG", DEFAULT_TEST_PG))


@cache
def _pg_unreachable_reason() -> str | None:
    url = _pg_base_url()
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure to connect means "no server here"
        summary = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {summary}"
    finally:
        engine.dispose()
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    reason = _pg_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    base = _pg_base_url()
    schema = f"tierdesk_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tierdesk.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """A URL of an empty database of each supported kind."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()
