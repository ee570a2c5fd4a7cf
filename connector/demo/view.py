"""Live terminal view of the demo: tickets per tier, clocks, warnings, breaches, escalations."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from connector.clock import ScaledClock
from connector.domain.policy import Policy
from connector.store.repository import Store
from connector.store.tables import ClockRow, OutboxRow, TicketSnapshot

if TYPE_CHECKING:
    from connector.scheduler import Worker

tickets_t = TicketSnapshot.__table__  # type: ignore[attr-defined]
clocks_t = ClockRow.__table__  # type: ignore[attr-defined]
outbox_t = OutboxRow.__table__  # type: ignore[attr-defined]

DEMO_ZONE = ZoneInfo("Europe/Berlin")
ESCALATION_KINDS = ("add_note", "assign_group", "assign_assignee", "add_followers")


@dataclass
class Snapshot:
    now: datetime
    per_tier: dict[str, Counter[str]] = field(default_factory=dict)
    outbox: Counter[tuple[str, str]] = field(default_factory=Counter)
    recent: list[tuple[str, str, str, str]] = field(default_factory=list)


def snapshot(store: Store, now: datetime, policy: Policy) -> Snapshot:
    """Read the figures from the store (what the worker computed and pushed)."""
    snap = Snapshot(now=now)
    with store.reading() as db:
        for tier, is_open, count in db.execute(
            sa.select(tickets_t.c.tier, tickets_t.c.is_open, sa.func.count()).group_by(
                tickets_t.c.tier, tickets_t.c.is_open
            )
        ):
            snap.per_tier.setdefault(tier or "?", Counter())["open" if is_open else "closed"] += count
        live = sa.and_(
            tickets_t.c.connection == clocks_t.c.connection, tickets_t.c.ticket_id == clocks_t.c.ticket_id
        )
        for tier, state, count in db.execute(
            sa.select(tickets_t.c.tier, clocks_t.c.state, sa.func.count())
            .select_from(clocks_t.join(tickets_t, live))
            .where(clocks_t.c.stopped_at.is_(None))
            .group_by(tickets_t.c.tier, clocks_t.c.state)
        ):
            snap.per_tier.setdefault(tier or "?", Counter())[state] += count
        soon = now + timedelta(minutes=30)
        for tier, count in db.execute(
            sa.select(tickets_t.c.tier, sa.func.count())
            .select_from(clocks_t.join(tickets_t, live))
            .where(clocks_t.c.state == "running", clocks_t.c.due_at <= soon)
            .group_by(tickets_t.c.tier)
        ):
            snap.per_tier.setdefault(tier or "?", Counter())["due_30m"] += count
        for kind, status, count in db.execute(
            sa.select(outbox_t.c.kind, outbox_t.c.status, sa.func.count()).group_by(
                outbox_t.c.kind, outbox_t.c.status
            )
        ):
            snap.outbox[(kind, status)] = count
        rows = db.execute(
            sa.select(
                outbox_t.c.connection,
                outbox_t.c.ticket_id,
                outbox_t.c.kind,
                outbox_t.c.payload,
                outbox_t.c.finished_at,
            )
            .where(outbox_t.c.kind.in_(ESCALATION_KINDS), outbox_t.c.status == "applied")
            .order_by(outbox_t.c.finished_at.desc())
            .limit(8)
        ).all()
    for connection, ticket_id, kind, payload, finished in rows:
        doc: dict[str, Any] = payload if isinstance(payload, dict) else json.loads(payload)
        lag = ""
        if doc.get("at") and finished is not None:
            seconds = (finished - datetime.fromisoformat(str(doc["at"]))).total_seconds()
            lag = f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
        snap.recent.append((f"{connection}:{ticket_id}", kind, str(doc.get("reason", "")), lag))
    return snap


class Dashboard:
    def __init__(
        self,
        console: Console,
        store: Store,
        clock: ScaledClock,
        start: datetime,
        end: datetime,
        policy: Policy,
    ) -> None:
        self.console = console
        self.store = store
        self.clock = clock
        self.start = start
        self.end = end
        self.policy = policy

    def render(self, snap: Snapshot) -> Group:
        local = snap.now.astimezone(DEMO_ZONE)
        progress = min(1.0, (snap.now - self.start) / (self.end - self.start))
        header = (
            f"simulated {local:%a %Y-%m-%d %H:%M %Z}  ({progress:.0%} of the day)   "
            f"policy {self.policy.version}"
        )
        tiers = Table(title="tickets and SLA clocks per tier", expand=True)
        for column in ("tier", "open", "closed", "clocks running", "paused", "due < 30m", "breached (open)"):
            tiers.add_column(column, justify="right" if column != "tier" else "left")
        for name, tier in self.policy.tiers.items():
            c = snap.per_tier.get(name, Counter())
            tiers.add_row(
                tier.label,
                str(c["open"]),
                str(c["closed"]),
                str(c["running"]),
                str(c["paused"]),
                f"[yellow]{c['due_30m']}[/yellow]",
                f"[red]{c['breached']}[/red]",
            )
        pushed = Table(title="write-back (outbox)", expand=True)
        for column in ("action", "applied", "pending", "failed", "skipped", "withdrawn"):
            pushed.add_column(column, justify="right" if column != "action" else "left")
        kinds = sorted({kind for kind, _ in snap.outbox})
        for kind in kinds:
            pushed.add_row(
                kind,
                str(snap.outbox[(kind, "applied")] + snap.outbox[(kind, "already_applied")]),
                str(snap.outbox[(kind, "pending")] + snap.outbox[(kind, "sending")]),
                str(snap.outbox[(kind, "failed")]),
                str(snap.outbox[(kind, "skipped")]),
                str(snap.outbox[(kind, "withdrawn")]),
            )
        recent = Table(title="latest escalations pushed", expand=True)
        recent.add_column("ticket")
        recent.add_column("action")
        recent.add_column("why")
        recent.add_column("landed after (simulated)", justify="right")
        for ticket, kind, why, lag in snap.recent:
            recent.add_row(ticket, kind, why, lag)
        return Group(Panel(header), tiers, pushed, recent)

    def run(self, until: Callable[[], bool]) -> None:
        if not self.console.is_terminal:
            self._run_plain(until)
            return
        with Live(
            self.render(snapshot(self.store, self.clock.now(), self.policy)),
            console=self.console,
            refresh_per_second=4,
        ) as live:
            while not until():
                live.update(self.render(snapshot(self.store, self.clock.now(), self.policy)))
                _pause(0.5)

    def _run_plain(self, until: Callable[[], bool]) -> None:
        last_hour = -1
        while not until():
            now = self.clock.now()
            hour = int((now - self.start).total_seconds() // 3600)
            if hour != last_hour:
                last_hour = hour
                snap = snapshot(self.store, now, self.policy)
                breached = sum(c["breached"] for c in snap.per_tier.values())
                running = sum(c["running"] for c in snap.per_tier.values())
                notes = snap.outbox[("add_note", "applied")]
                self.console.print(
                    f"{now:%H:%M} UTC  running clocks {running}, breached {breached}, notes posted {notes}"
                )
            _pause(0.5)

    def summary(self, snap: Snapshot, worker: Worker) -> None:
        self.console.print(self.render(snap))
        applied = sum(
            v for (kind, status), v in snap.outbox.items() if status in ("applied", "already_applied")
        )
        self.console.print(
            f"[bold]demo finished[/bold]: {worker.cycles} worker cycles, {applied} write-backs applied, "
            f"{snap.outbox[('add_note', 'applied')]} internal notes, "
            f"{sum(c['breached'] for c in snap.per_tier.values())} open clocks breached"
        )


def _pause(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)
