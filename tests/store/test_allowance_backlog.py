"""The allowance pass waits while a backlog fills the outbox: with more queued than one push sends
(a first sync), it runs at most every `allowance_backlog_every` instead of every
`allowance_every`, since each pass reads the whole month and what it queues would wait behind the
backlog anyway. Once the backlog is pushed it runs on its usual interval again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connector.bootstrap import App, build_app
from connector.clock import FixedClock
from connector.fakes import FakeHelpdesk
from connector.ports import ActionResult, Outcome
from tests.store.test_cycle_statements import CONNECTION, NOW, _one_connection, _record

ACCOUNTS = """accounts:
  acme:
    name: Acme
    tier: enterprise
    organizations:
      - {connection: zendesk-main, name: Acme}
    contracts:
      - name: 2026
        start: 2026-01-01
        currency: EUR
        allowance: {tickets: 1}
"""


@pytest.fixture
def app(store_url: str, tmp_path: Path) -> Iterator[tuple[App, FakeHelpdesk, FixedClock]]:
    mappings = _one_connection(tmp_path / "mappings")
    (mappings / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    helpdesk = FakeHelpdesk(CONNECTION)
    clock = FixedClock(NOW)
    built = build_app(mappings, store_url, clock=clock, helpdesks={CONNECTION: helpdesk})
    built.service.push_batch = 1  # one push sends 20 actions: a few tickets make a backlog
    try:
        yield built, helpdesk, clock
    finally:
        built.close()


def _pull_acme_tickets(app: App, helpdesk: FakeHelpdesk, numbers: range) -> None:
    helpdesk.queue_page(_record(n) for n in numbers if n % 3 == 0)  # `_record` cycles Acme, Initech, Hooli
    app.service.pull(CONNECTION)


def _push_everything(app: App) -> None:
    while items := app.store.pending_actions(CONNECTION, limit=1000):
        app.store.record_results([ActionResult(i.action.key, Outcome.APPLIED) for i in items])


def test_the_allowance_pass_waits_while_a_backlog_fills_the_outbox(
    app: tuple[App, FakeHelpdesk, FixedClock],
) -> None:
    built, helpdesk, _ = app
    service = built.service
    _pull_acme_tickets(built, helpdesk, range(0, 30))  # 10 Acme tickets: 9 past the allowance of 1
    assert built.store.queued_count() >= service.push_batch * 20

    assert service.allowance_pass(NOW) > 0  # the first pass runs whatever is queued

    _pull_acme_tickets(built, helpdesk, range(30, 33))  # one more Acme ticket, past the allowance
    assert service.allowance_pass(NOW + timedelta(minutes=6)) == 0  # the backlog is still queued
    assert service.allowance_pass(NOW + timedelta(minutes=30)) == 0

    _push_everything(built)
    assert service.allowance_pass(NOW + timedelta(minutes=31)) > 0  # backlog gone: the new ticket


def test_a_backlog_delays_the_allowance_pass_by_at_most_allowance_backlog_every(
    app: tuple[App, FakeHelpdesk, FixedClock],
) -> None:
    built, helpdesk, _ = app
    service = built.service
    _pull_acme_tickets(built, helpdesk, range(0, 30))
    service.allowance_pass(NOW)
    _pull_acme_tickets(built, helpdesk, range(30, 33))

    assert service.allowance_pass(NOW + timedelta(minutes=59)) == 0
    assert built.store.queued_count() >= service.push_batch * 20  # still a backlog
    assert service.allowance_pass(NOW + timedelta(minutes=61)) > 0
