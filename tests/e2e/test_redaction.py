"""A helpdesk that echoes the request's headers in its error bodies cannot leak the credentials:
`tierdesk sync --once` (a subprocess, real zenpy over HTTP) against a Zendesk emulator whose writes
answer 422 with the Authorization header and the decoded login in the body. The token and e-mail
appear neither on stdout/stderr, nor in the JSON logs, nor in the outbox's `last_error`, nor in
the push audit; the echoed body itself is stored (with `***` in their place).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.emulation.base import EmulatorServer
from plugins.zendesk import build_emulator
from plugins.zendesk.emulator import seed_account
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import (
    ROOT,
    Tap,
    ZendeskSite,
    audit_messages,
    customer_of,
    open_ticket,
    outbox_entries,
    write_mappings,
)

pytestmark = pytest.mark.e2e

EMAIL = "integration@acme.example"
TOKEN = "s3cr3t-T0ken-4b9e1f"


class HeaderEcho:
    """WSGI wrapper: every write answers 422 with the request's headers echoed in the body, as a
    misbehaving proxy or vendor does; reads pass through to the emulator."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("PUT", "POST"):
            authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
            login = base64.b64decode(authorization.rsplit(maxsplit=1)[-1]).decode() if authorization else ""
            body = {
                "error": "RecordInvalid",
                "description": f"echoed-headers Authorization: {authorization}",
                "details": {"login": login},
            }
            start_response("422 Unprocessable Entity", [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        return list(self.app(environ, start_response))


def test_credentials_echoed_by_the_helpdesk_are_redacted_everywhere(tmp_path: Path) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    start = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    app = build_emulator("simulated", "empty", None, 10**6, start - timedelta(minutes=30))
    info = seed_account(http_caller(app))
    db = f"sqlite:///{tmp_path / 'echo.db'}"
    with EmulatorServer(HeaderEcho(app)) as server:  # type: ignore[arg-type]
        site = ZendeskSite(app=app, server=server, tap=Tap(app), info=info)
        open_ticket(site, customer_of(site))  # an enterprise outage, 30 minutes old at `start`
        site.set_clock(start)
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
        env.update(
            PYTHONPATH=str(ROOT),
            TIERDESK_ZENDESK_EMAIL=EMAIL,
            TIERDESK_ZENDESK_TOKEN=TOKEN,
            TIERDESK_LOG_FORMAT="json",
            TIERDESK_LOG_LEVEL="INFO",
        )
        args = ["sync", "--once", "--mappings", str(mappings), "--db", db, "--now", start.isoformat()]
        result = subprocess.run(
            [sys.executable, "-m", "connector", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    entries = outbox_entries(db)
    stored = [entry.reason or "" for entry in entries] + [message for _, message in audit_messages(db)]
    printed = result.stdout + result.stderr
    basic = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    assert result.returncode == 2, printed  # finished, with failed actions
    assert any("echoed-headers Authorization: Basic ***" in text for text in stored)
    for secret in (TOKEN, EMAIL, basic):
        assert secret not in printed
        assert not any(secret in text for text in stored)
    for line in result.stderr.splitlines():
        json.loads(line)  # the log stream stays JSON
