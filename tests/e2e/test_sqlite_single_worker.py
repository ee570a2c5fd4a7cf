"""A SQLite database takes one worker: `tierdesk worker` on a file another worker holds exits 1
with one line naming the holder and what to do instead (`connector.store.leases`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from connector.store.leases import SqliteWorkerLock
from tests.e2e.support import run_cli, write_mappings

pytestmark = pytest.mark.e2e


def test_a_second_worker_on_one_sqlite_database_is_refused_with_exit_1(tmp_path: Path) -> None:
    mappings = write_mappings(tmp_path / "mappings", {"zendesk": {"url": "http://127.0.0.1:9"}})
    database = tmp_path / "tierdesk.db"
    running = SqliteWorkerLock(database)  # the first worker (this process) holds the database
    try:
        refused = run_cli(["worker", "--mappings", str(mappings), "--db", f"sqlite:///{database}"], tmp_path)
    finally:
        running.close()

    assert refused.returncode == 1, refused.stderr
    events = [json.loads(line) for line in refused.stderr.splitlines()]
    assert [(e["level"], e["exit_code"], e["event"]) for e in events] == [
        (
            "error",
            1,
            f"error: another tierdesk worker holds tierdesk.db (pid {os.getpid()}); run one worker per "
            "SQLite database or use PostgreSQL (TIERDESK_DB=postgresql://...)",
        )
    ]
    assert "Traceback" not in refused.stderr
