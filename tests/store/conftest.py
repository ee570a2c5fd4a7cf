"""Store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from `$TIERDESK_TEST_PG` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`);
tests that open databases themselves get a fresh schema each, the others share one migrated schema
that is emptied after every test. Without a reachable server those runs skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from connector.store import tables
from connector.store.engine import resolve_url
from connector.store.repository import Store

DEFAULT_TEST_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Sessions run in a non-UTC zone so a store that leaned on the server's time zone would show it.
SESSION_TIME_ZONE = "Asia/Kolkata"


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


@contextmanager
def _fresh_pg_schema() -> Iterator[str]:
    reason = _pg_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    base = _pg_base_url()
    schema = f"tierdesk_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict(
            {"options": f"-csearch_path={schema} -ctimezone={SESSION_TIME_ZONE}"}
        ).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema yet) of each supported kind."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tierdesk.db'}"
        return
    with _fresh_pg_schema() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; copying it is faster than migrating a database per test."""
    path = tmp_path_factory.mktemp("template") / "tierdesk.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """A migrated PostgreSQL schema shared by the session; `store` empties it after each test."""
    with _fresh_pg_schema() as url:
        Store.open(url).close()
        yield url


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store on a migrated, empty database of each supported kind."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "tierdesk.db")
        url = f"sqlite:///{tmp_path / 'tierdesk.db'}"
    else:
        url = request.getfixturevalue("pg_session_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        if backend == "postgresql":
            with opened.engine.begin() as connection:  # DELETE beats TRUNCATE on a few rows
                for table in reversed(tables.metadata.sorted_tables):
                    connection.execute(table.delete())
        opened.close()
