"""Webhook replay protection: what recording a delivery costs the webhook port.

Signed Zendesk deliveries go through `WebhookReceiver.handle` (signature, staleness, replay
check; no HTTP), first with the in-memory record one worker keeps (`ReplayGuard`, SQLite), then
with the store's shared record on the local PostgreSQL (`webhook_delivery`, what replicas use).
`--replays` of every delivery follow it, to a second store object (another replica). Printed per
record: CPU ms and wall ms per delivery (CPU is the figure: the machine is shared), and how many
deliveries were accepted and rejected as replayed.

    .venv/bin/python bench/webhook_replay.py [--deliveries 2000] [--replays 1]

Needs PostgreSQL (`$TIERDESK_TEST_PG`, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy.pool import NullPool

from connector import logs
from connector.clock import FixedClock
from connector.ports import SeenDeliveries
from connector.store.repository import Store
from connector.webhooks import Endpoint, ReplayGuard, TicketNudges, WebhookReceiver
from plugins.zendesk.webhook import ZendeskWebhook, sign

SECRET = "whsec-bench"
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@contextmanager
def pg_schema() -> Iterator[str]:
    base = sa.make_url(
        os.environ.get("TIERDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    schema = f"tierdesk_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, poolclass=NullPool)
    with admin.begin() as db:
        db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    made = []
    for n in range(count):
        body = json.dumps(
            {"type": "zen:event-type:ticket.comment_added", "detail": {"id": str(n + 1)}}
        ).encode()
        stamp = (NOW + timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z")
        made.append(
            (
                body,
                {
                    "x-zendesk-webhook-signature": sign(SECRET, stamp, body),
                    "x-zendesk-webhook-signature-timestamp": stamp,
                    "x-zendesk-webhook-id": "01HBENCH",
                    "x-zendesk-webhook-invocation-id": str(10**9 + n),
                    "content-length": str(len(body)),
                },
            )
        )
    return made


def receiver(seen: SeenDeliveries) -> WebhookReceiver:
    endpoint = Endpoint("zd", "/webhooks/zd", ZendeskWebhook(), SECRET)
    return WebhookReceiver([endpoint], TicketNudges(), FixedClock(NOW), CollectorRegistry(), seen=seen)


def run(
    name: str,
    first: SeenDeliveries,
    replica: SeenDeliveries,
    batch: list[tuple[bytes, dict[str, str]]],
    replays: int,
) -> None:
    targets = [receiver(first)] + [receiver(replica)] * replays
    answers: dict[int, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    for body, headers in batch:
        for target in targets:
            status, _ = target.handle("POST", "/webhooks/zd", headers, lambda n, b=body: b[:n])
            answers[status] = answers.get(status, 0) + 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    handled = len(batch) * len(targets)
    print(
        f"{name:<28} {handled:>6} requests  CPU {1000 * cpu / handled:6.3f} ms  wall {1000 * wall / handled:6.3f} ms"
        f"  accepted {answers.get(202, 0)}  replayed {answers.get(409, 0)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--replays", type=int, default=1)
    args = parser.parse_args()
    logs.configure(level="ERROR")  # every replay logs a warning
    batch = deliveries(args.deliveries)
    memory = ReplayGuard()
    run("memory (one worker)", memory, memory, batch, args.replays)
    with pg_schema() as url:
        one, other = Store.open(url), Store.open(url)
        try:
            run("PostgreSQL (two replicas)", one, other, batch, args.replays)
        finally:
            one.close()
            other.close()


if __name__ == "__main__":
    main()
