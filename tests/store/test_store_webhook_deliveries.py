"""The store's record of accepted webhook deliveries (`connector.store.webhook_deliveries`), on
SQLite and PostgreSQL: insert-if-absent per key, shared by every store object on the database,
exactly one winner when replicas race, keys forgotten (and pruned) once their window ends; a
delivery the database cannot check is answered 503, not accepted."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from connector.clock import FixedClock
from connector.store.repository import Store
from connector.store.webhook_deliveries import PRUNE_EVERY
from connector.webhooks import Endpoint, TicketNudges, WebhookReceiver
from plugins.zendesk.webhook import ZendeskWebhook, sign

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def test_a_delivery_is_first_once_per_connection_and_by_any_of_its_keys(store: Store) -> None:
    until = NOW + WINDOW
    assert store.first_delivery("zd", ["sig:a", "delivery:1"], expires_at=until, now=NOW)
    assert not store.first_delivery("zd", ["sig:a", "delivery:1"], expires_at=until, now=NOW)
    assert not store.first_delivery("zd", ["sig:b", "delivery:1"], expires_at=until, now=NOW)  # re-signed
    assert not store.first_delivery("zd", ["sig:a"], expires_at=until, now=NOW)
    assert store.first_delivery("jira", ["sig:a", "delivery:1"], expires_at=until, now=NOW)  # another site
    assert store.first_delivery("zd", ["sig:c", "delivery:2"], expires_at=until, now=NOW)


def test_keys_past_their_window_no_longer_count_and_are_pruned(store: Store) -> None:
    store.first_delivery("zd", ["sig:old"], expires_at=NOW + WINDOW, now=NOW)
    store.first_delivery("zd", ["sig:kept"], expires_at=NOW + 3 * WINDOW, now=NOW)
    assert store.webhook_deliveries_kept() == 2
    later = NOW + WINDOW + PRUNE_EVERY + timedelta(seconds=1)
    assert store.first_delivery("zd", ["sig:new"], expires_at=later + WINDOW, now=later)
    assert store.webhook_deliveries_kept() == 2  # sig:old pruned on the way; sig:kept, sig:new left
    assert not store.first_delivery("zd", ["sig:kept"], expires_at=later + WINDOW, now=later)
    assert store.first_delivery("zd", ["sig:old"], expires_at=later + WINDOW, now=later)


def test_replicas_racing_on_one_delivery_accept_it_exactly_once(store: Store) -> None:
    replicas = [Store.open(str(store.url.render_as_string(hide_password=False))) for _ in range(4)]
    winners: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(len(replicas) * 2)

    def deliver(replica: Store, number: int) -> None:
        start.wait()
        for attempt in range(10):
            keys = [f"sig:{attempt}:{number}", f"delivery:{attempt}"]  # each replica signs its own way
            won = replica.first_delivery("zd", keys, expires_at=NOW + WINDOW, now=NOW)
            with lock:
                winners.append(won)

    threads = [threading.Thread(target=deliver, args=(replica, n)) for n, replica in enumerate(replicas * 2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for replica in replicas:
            replica.close()
    assert winners.count(True) == 10  # one per delivery id, whichever replica got there first
    assert len(winners) == 80


class _DatabaseDown:
    """`SeenDeliveries` whose database cannot be reached."""

    def first_delivery(
        self, connection: str, keys: Sequence[str], *, expires_at: datetime, now: datetime
    ) -> bool:
        raise sa.exc.OperationalError("INSERT INTO webhook_delivery", {}, ConnectionRefusedError("refused"))


def test_a_delivery_the_store_cannot_check_is_answered_503_for_the_vendor_to_retry() -> None:
    endpoint = Endpoint("zd", "/webhooks/zd", ZendeskWebhook(), "whsec")
    registry = CollectorRegistry()
    nudges = TicketNudges()
    receiver = WebhookReceiver([endpoint], nudges, FixedClock(NOW), registry, seen=_DatabaseDown())
    body = b'{"type":"zen:event-type:ticket.comment_added","detail":{"id":"7"}}'
    stamp = "2026-03-04T10:00:00Z"
    headers = {
        "x-zendesk-webhook-signature": sign("whsec", stamp, body),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "content-length": str(len(body)),
    }
    status, _ = receiver.handle("POST", "/webhooks/zd", headers, lambda n: body[:n])
    assert status == 503
    assert len(nudges) == 0  # not accepted: nothing fetched on its word
    outcome = {"connection": "zd", "outcome": "unavailable"}
    assert registry.get_sample_value("tierdesk_webhook_deliveries_total", outcome) == 1
