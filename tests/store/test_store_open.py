"""Opening the store: which database a URL (or its absence) means, and a quiet `db upgrade`."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.store import Store, migrate, open_store
from connector.store.engine import resolve_url


def test_default_url_is_tierdesk_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIERDESK_DB", raising=False)
    monkeypatch.chdir(tmp_path)

    store = Store.open(None)
    store.close()

    assert (tmp_path / "tierdesk.db").exists()


def test_tierdesk_db_environment_variable_is_used_when_no_url_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state" / "nested" / "sla.db"
    monkeypatch.setenv("TIERDESK_DB", f"sqlite:///{target}")

    store = Store.open()
    store.close()

    assert target.exists()  # missing parent directories (a fresh volume) are created


def test_postgres_urls_mean_psycopg3() -> None:
    assert resolve_url("postgresql://u@db:5432/td").drivername == "postgresql+psycopg"
    assert resolve_url("postgres://u@db/td").drivername == "postgresql+psycopg"
    assert resolve_url("postgresql+psycopg://u@db/td").drivername == "postgresql+psycopg"


def test_sqlite_files_use_wal_checkpointed_every_10000_pages_and_foreign_keys(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'td.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -8 * 1024  # KiB
            # checkpoints every 10,000 WAL pages (SQLite's default is 1,000)
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    finally:
        store.close()


def test_in_memory_sqlite_keeps_one_database_for_the_store() -> None:
    store = open_store("sqlite://")
    try:
        store.save_pull_page("zd", [], "cursor-1")
        assert store.get_cursor("zd") == "cursor-1"
    finally:
        store.close()


def test_db_upgrade_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'td.db'}", upgrade=False)
    try:
        store.upgrade()
        store.upgrade()
        assert store.schema_revision() == migrate.head_revision()
    finally:
        store.close()

    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
