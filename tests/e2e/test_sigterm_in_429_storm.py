"""SIGTERM stops the worker within Docker's grace period even while the helpdesk answers every
write with 429 and a long Retry-After: the retry wait wakes on the stop request, what was not sent
stays queued, and a later run sends it once.

The worker is the real `tierdesk worker` process against the Zendesk emulator (real zenpy over
HTTP); the exit time is printed, and only "it exits" is asserted (with a generous timeout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.support import (
    ROOT,
    customer_of,
    open_ticket,
    outbox_entries,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

RETRY_AFTER = 100  # seconds: under the retry layer's cap, so the worker would wait it out


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", TIERDESK_LOG_FORMAT="json")
    return env


def test_sigterm_during_a_429_retry_wait_exits_promptly_and_leaves_the_rest_queued(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    db = f"sqlite:///{tmp_path / 'storm.db'}"
    with zendesk_emulator(now - timedelta(minutes=30)) as site:
        for email in ("ann@acme.example", "bob@acme.example"):
            open_ticket(site, customer_of(site, email=email))  # enterprise outages, 30 minutes old
        site.app.clock.follow(lambda: datetime.now(UTC))
        site.faults({"path": "^/api/v2/", "method": "PUT", "status": 429, "retry_after": RETRY_AFTER})
        mappings = write_mappings(
            tmp_path / "mappings",
            {"zendesk": site.connection()},
            options={"zendesk": {"job_poll_interval": "0.1"}},
        )
        mark = site.tap.mark()
        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "connector", "worker", "--mappings", str(mappings), "--db", db],
                cwd=tmp_path,
                env=_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                reached = site.tap.wait_for(mark, r"^PUT /api/v2/", alive=lambda: worker.poll() is None)
                assert reached, log_path.read_text()
                time.sleep(0.5)  # let the worker read the 429 and start its Retry-After wait
                sent = time.monotonic()
                worker.send_signal(signal.SIGTERM)
                code = worker.wait(timeout=30)  # generous: the point is that it does not wait 100 s
                took = time.monotonic() - sent
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
        print(f"\nworker exited {took:.2f} s after SIGTERM (Retry-After was {RETRY_AFTER} s)")
        output = log_path.read_text()
        assert code == 5, output  # stopped before the work was done; the rest stays queued
        for line in output.splitlines():
            json.loads(line)  # the worker's stream stays JSON to the end
        assert "left queued" in output

        # the update the 429 answered: answered RETRY, not left "sending" (which a restart would
        # treat as maybe-sent), not failed
        queued = [e for e in outbox_entries(db) if e.status not in ("skipped", "withdrawn", "applied")]
        assert queued and {e.status for e in queued} == {"pending"}
        assert {e.ticket_id for e in queued} == {"1", "2"}

        site.app.faults.clear()
        again = subprocess.run(
            [sys.executable, "-m", "connector", "sync", "--once", "--mappings", str(mappings), "--db", db],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        after = outbox_entries(db)
        updates = site.app.log.count("PUT", r"/tickets/update_many")

    assert {e.key: e.status for e in after if e.key in {q.key for q in queued}} == {
        q.key: "applied" for q in queued
    }  # nothing lost
    assert updates == 2  # the update the 429 refused, then the one that landed: nothing sent twice
