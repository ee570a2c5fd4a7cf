"""Notifications reach people outside the helpdesk exactly once per crossing.

An Enterprise outage ticket (critical: first response 15 minutes) arrives on the Zendesk
emulator; the example mappings gain an on-arrival level (a chat message to the pod, through a
Slack-compatible Mattermost webhook) and notifications at the breach (a generic JSON webhook and
an e-mail). Real receivers listen on 127.0.0.1: an HTTP server and an SMTP server (aiosmtpd). The
Apprise URLs, with their tokens and the SMTP password, are only in the environment.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import FixedClock
from connector.domain.results import Action
from connector.policy_holder import PolicyHolder
from connector.ports import ActionResult, Notifier
from connector.report.explain import render_explain
from connector.scheduler import Worker
from connector.secrets import EnvSecrets
from connector.store.repository import Store
from connector.store.tables import audit, outbox
from plugins.zendesk import connect
from plugins.zendesk.testing import FAST_RETRY
from tests.e2e.receivers import (
    MailReceiver,
    WebhookReceiver,
    self_signed_tls,
    smtp_receiver,
    webhook_receiver,
)
from tests.e2e.support import (
    CONNECTION,
    ZendeskSite,
    customer_of,
    open_ticket,
    write_mappings,
    zendesk_emulator,
)

pytestmark = pytest.mark.e2e

OPENED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
DEADLINE = OPENED + timedelta(minutes=15)
HOOK_TOKEN = "T0PSECRET42hook"
CHAT_TOKEN = "CH4TSECRET77"
MAIL_PASSWORD = "Pa55word77mail"


def add_notifications(mappings: Path, on_uncertain: str) -> None:
    yaml = YAML()
    (mappings / "notifications.yaml").write_text(
        "channels:\n"
        f"  oncall-hook: {{url_env: TD_HOOK_URL, on_uncertain: {on_uncertain}}}\n"
        "  pod-chat: {url_env: TD_CHAT_URL}\n"
        "  duty-mail: {url_env: TD_MAIL_URL}\n",
        encoding="utf-8",
    )
    path = mappings / "escalations.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    levels = doc["escalations"]["enterprise"]["levels"]
    breached = next(level for level in levels if level["at"] == "breach")
    breached["actions"].append({"notify": {"channel": "oncall-hook"}})
    breached["actions"].append({"notify": {"channel": "duty-mail", "to": "duty@example.com"}})
    levels.insert(
        0,
        {
            "on_arrival": True,
            "name": "route to pod",
            "actions": [
                {"add_tags": "pod_enterprise"},
                {
                    "notify": {
                        "channel": "pod-chat",
                        "message": "New {tier} {severity} ticket {ticket}: {link}",
                    }
                },
            ],
        },
    )
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


@dataclass
class Run:
    site: ZendeskSite
    mappings: Path
    db_url: str
    secrets: EnvSecrets
    clock: FixedClock
    ticket_id: int
    hook: WebhookReceiver
    chat: WebhookReceiver
    mail: MailReceiver

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.site.set_clock(instant)

    @contextmanager
    def worker(self) -> Iterator[Worker]:
        """A worker process's app on the shared store (a new one is a restart)."""
        (config,) = PolicyHolder(self.mappings).policy.connections
        helpdesk = connect(config, retry=FAST_RETRY, sleep=lambda _seconds: None)
        app = build_app(
            self.mappings,
            self.db_url,
            clock=self.clock,
            helpdesks={CONNECTION: helpdesk},
            secrets=self.secrets,
        )
        try:
            yield Worker(app)
        finally:
            app.close()

    def notify_rows(self) -> list[tuple[str, str, str | None, dict[str, object]]]:
        store = Store.open(self.db_url)
        try:
            with store.reading() as db:
                rows = db.execute(
                    sa.select(outbox.c.key, outbox.c.status, outbox.c.last_error, outbox.c.payload).where(
                        outbox.c.kind == "notify"
                    )
                ).all()
        finally:
            store.close()
        return [(r.key, r.status, r.last_error, r.payload) for r in rows]

    def stored_text(self) -> str:
        store = Store.open(self.db_url)
        try:
            with store.reading() as db:
                rows = db.execute(sa.select(outbox.c.payload, outbox.c.last_error)).all()
                audits = db.execute(sa.select(audit.c.message)).all()
        finally:
            store.close()
        return json.dumps([[r.payload, r.last_error] for r in rows]) + json.dumps([a.message for a in audits])


@contextmanager
def outage(tmp: Path, on_uncertain: str = "skip", mail_tls: ssl.SSLContext | None = None) -> Iterator[Run]:
    """Tierdesk first syncs five minutes before the ticket arrives (earlier tickets are backlog:
    never routed nor announced)."""
    first_sync = OPENED - timedelta(minutes=5)
    with (
        zendesk_emulator(first_sync) as site,
        webhook_receiver() as hook,
        webhook_receiver() as chat,
        smtp_receiver("bot", MAIL_PASSWORD, mail_tls) as mail,
    ):
        site.unlimited()
        customer = customer_of(site)  # Acme: enterprise
        mappings = write_mappings(
            tmp / "mappings", {"zendesk": site.connection()}, options={"zendesk": {"job_poll_interval": "0"}}
        )
        add_notifications(mappings, on_uncertain)
        secrets = EnvSecrets(
            {
                "TD_HOOK_URL": f"json://127.0.0.1:{hook.port}/hooks/{HOOK_TOKEN}",
                "TD_CHAT_URL": f"mmost://127.0.0.1:{chat.port}/{CHAT_TOKEN}",
                "TD_MAIL_URL": (
                    f"mailtos://bot:{MAIL_PASSWORD}@127.0.0.1:{mail.port}?from=tierdesk@example.com"
                    "&mode=starttls&verify=no"  # the receiver's certificate is self-signed
                    if mail_tls
                    else f"mailto://bot:{MAIL_PASSWORD}@127.0.0.1:{mail.port}?from=tierdesk@example.com"
                ),
            }
        )
        run = Run(
            site, mappings, f"sqlite:///{tmp / 't.db'}", secrets, FixedClock(first_sync), 0, hook, chat, mail
        )
        with run.worker() as worker:
            worker.pull_job(CONNECTION)
        run.at(OPENED)
        run.ticket_id = open_ticket(site, customer)  # "Checkout is down": critical
        yield run


def test_one_message_per_crossing_across_two_cycles_and_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with outage(tmp_path) as run:
        with run.worker() as worker:
            run.at(OPENED + timedelta(minutes=1))
            worker.pull_job(CONNECTION)  # arrival: routed and announced to the pod
            run.at(DEADLINE + timedelta(seconds=1))
            worker.deadline_job()  # the breach, verified on a fresh read
            run.at(DEADLINE + timedelta(minutes=2))
            worker.pull_job(CONNECTION)  # a second cycle
        with run.worker() as worker:  # a restart
            run.at(DEADLINE + timedelta(minutes=4))
            worker.pull_job(CONNECTION)
            worker.drain_job()
        rows = run.notify_rows()
        tags = run.site.account.tickets[run.ticket_id].tags
        stored = run.stored_text()
    printed = capsys.readouterr()

    assert len(run.chat.posts) == 1
    assert f"ticket {run.ticket_id}" in json.dumps(run.chat.posts[0].body)
    assert "pod_enterprise" in tags
    assert len(run.hook.posts) == 1
    [post] = run.hook.posts
    assert "first response breach" in post.body["message"]
    hook_row = next(row for row in rows if row[3].get("field") == "oncall-hook")
    assert post.headers["X-Tierdesk-Key"] == hook_row[0]  # receivers can drop repeats by key
    assert len(run.mail.messages) == 1
    recipients, message = run.mail.messages[0]
    assert recipients == ["duty@example.com"]
    assert "first response breach" in str(message.get_payload(0))
    assert run.mail.logins == ["bot"]
    assert sorted(status for _, status, _, _ in rows) == ["applied", "applied", "applied"]
    for secret in (HOOK_TOKEN, CHAT_TOKEN, MAIL_PASSWORD):
        assert secret not in stored
        assert secret not in printed.out + printed.err + caplog.text


def test_a_receiver_answering_500_is_retried_on_the_next_cycle_and_gets_the_message_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with outage(tmp_path) as run, run.worker() as worker:
        run.at(OPENED + timedelta(minutes=1))
        worker.pull_job(CONNECTION)
        run.hook.fail_next = 1000  # the webhook is down for the whole cycle
        run.at(DEADLINE + timedelta(seconds=1))
        worker.deadline_job()
        after_refusal = {row[3].get("field"): row[1] for row in run.notify_rows()}
        delivered_while_down = len(run.hook.posts)
        run.hook.fail_next = 0
        run.at(DEADLINE + timedelta(minutes=1))
        worker.drain_job()
        worker.drain_job()
        after_retry = {row[3].get("field"): row[1] for row in run.notify_rows()}
        stored = run.stored_text()

    assert "did not take the notification (the receiver answered with an error)" in stored
    assert HOOK_TOKEN not in stored + caplog.text
    assert run.hook.refused >= 1
    assert delivered_while_down == 0
    assert after_refusal["oncall-hook"] == "pending"  # a refusal is certain: queued, not uncertain
    assert after_retry["oncall-hook"] == "applied"
    assert len(run.hook.posts) == 1
    assert len(run.mail.messages) == 1  # the e-mail of the same crossing went out the first time


class _Killed(BaseException):
    """The process dies: nothing after the send runs."""


class DiesAfterSending:
    """The real notifier, then the process dies before the outcome is recorded."""

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner

    def send(self, actions: Sequence[Action], uncertain: frozenset[str] = frozenset()) -> list[ActionResult]:
        self.inner.send(actions, uncertain)
        raise _Killed


@pytest.mark.parametrize(("on_uncertain", "posts"), [("skip", 1), ("resend", 2)])
def test_a_crash_between_send_and_record_is_at_most_once_for_chat_or_resent_with_the_same_key(
    tmp_path: Path, on_uncertain: str, posts: int
) -> None:
    with outage(tmp_path, on_uncertain) as run:
        with run.worker() as worker:
            run.at(OPENED + timedelta(minutes=1))
            worker.pull_job(CONNECTION)
            notifier = worker.app.service.notifier
            assert notifier is not None
            worker.app.service.notifier = DiesAfterSending(notifier)
            run.at(DEADLINE + timedelta(seconds=1))
            with pytest.raises(_Killed):
                worker.deadline_job()
        with run.worker() as worker:
            run.at(DEADLINE + timedelta(minutes=1))
            worker.drain_job()
            worker.drain_job()
        rows = {row[3].get("field"): row for row in run.notify_rows()}

    assert len(run.hook.posts) == posts
    assert len({post.headers["X-Tierdesk-Key"] for post in run.hook.posts}) == 1
    _, status, reason, _ = rows["oncall-hook"]
    if on_uncertain == "skip":
        assert status == "failed"
        assert reason is not None and "not resent" in reason
    else:
        assert status == "applied"


def test_explain_shows_the_routing_and_the_notifications_by_channel_name(tmp_path: Path) -> None:
    with outage(tmp_path) as run:
        with run.worker() as worker:
            run.at(DEADLINE + timedelta(seconds=1))
            worker.pull_job(CONNECTION)
            console = Console(record=True, width=200)
            found = render_explain(
                console,
                worker.app.store,
                worker.app.policies.policy,
                run.clock.now(),
                (CONNECTION, str(run.ticket_id)),
            )
        text = console.export_text()

    assert found
    assert "on arrival (once per ticket and tier)" in text
    assert "notify pod-chat" in text
    assert "notify duty-mail to duty@example.com" in text
    assert "oncall-hook: [Enterprise critical] first response breach" in text
    for secret in (HOOK_TOKEN, CHAT_TOKEN, MAIL_PASSWORD):
        assert secret not in text


def test_mailtos_sends_the_breach_over_starttls_with_login(tmp_path: Path) -> None:
    tls = self_signed_tls(tmp_path)
    if tls is None:
        pytest.skip("the openssl command is needed for a self-signed certificate")
    with outage(tmp_path, mail_tls=tls) as run, run.worker() as worker:
        run.at(DEADLINE + timedelta(seconds=1))
        worker.pull_job(CONNECTION)
        worker.drain_job()

    assert [recipients for recipients, _ in run.mail.messages] == [["duty@example.com"]]
    assert run.mail.encrypted == [True]
    assert run.mail.logins == ["bot"]
