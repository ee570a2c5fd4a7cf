"""Fresh views before writing: what tierdesk writes into a helpdesk must be true when it is
written. Before a push sends an escalation step (a note, reassignment, priority raise, tag or
notification answering a crossing), the ticket's stored view must be at most `verify_within` old
(a few seconds); older ones are re-read (batched; the plugins read the full history only of
tickets that changed), stored, and evaluated again, so steps the fresh view denies are withdrawn
with the reason and breaches it confirms are settled before anything is sent. The same re-read
serves a verified webhook (`refresh`) and a conditional update the helpdesk refused (`replan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from connector.domain.policy import STATE_DIFF_KINDS
from connector.domain.results import Action
from connector.ports import OutboxItem
from connector.sync_summary import CycleReport

if TYPE_CHECKING:
    from connector.sync import SyncService

log = structlog.get_logger("tierdesk.sync")


def needs_fresh_view(action: Action) -> bool:
    """An escalation step (it answers a crossing: a note, reassignment, priority raise, tag or
    notification) or a note, assignment or notification of any origin: sent only on a view of the
    ticket at most `verify_within` old."""
    return action.crossing is not None or action.kind not in STATE_DIFF_KINDS


class FreshViews:
    """The re-read step of a `SyncService` (its store, helpdesks, clock and `verify_within`)."""

    def __init__(self, sync: SyncService) -> None:
        self.sync = sync

    def stale(self, connection: str, items: Sequence[OutboxItem], verified: set[str]) -> list[str]:
        """Tickets of `items` with an escalation step (a note, reassignment, priority raise, tag or
        notification answering a crossing) whose stored view is older than `verify_within` and
        that this push has not re-read yet (`needs_fresh_view`).

        State diffs alone (tags, priority, fields of what agents should see) are not re-read: what
        they write does not claim that anything happened, they carry their basis, so the
        helpdesk's conditional update refuses one planned on a view it no longer shows (CONFLICT:
        re-read and planned again), and the next pull corrects the rest. On a first sync that is
        nearly every queued action (backlog escalations are skipped, not sent). A helpdesk without
        such an update (`refuses_stale_updates` False: Jira) gets every write on a fresh view."""
        guarded = self.sync.helpdesks[connection].refuses_stale_updates
        ids = sorted(
            {item.action.ticket_id for item in items if not guarded or needs_fresh_view(item.action)}
            - verified
        )
        if not ids:
            return []
        oldest = self.sync.clock.now() - self.sync.verify_within
        views = self.sync.store.views(connection, ids)
        return [ticket_id for ticket_id in ids if ticket_id not in views or views[ticket_id][1] < oldest]

    def verify(self, connection: str, ticket_ids: list[str], report: CycleReport) -> None:
        """Re-read tickets (batched; unchanged ones cost no history read), store what changed,
        confirm the rest as seen now, and evaluate them all again. Actions of tickets the helpdesk
        no longer shows are answered FAILED."""
        helpdesk = self.sync.helpdesks[connection]
        known = {
            ticket_id: view[0] for ticket_id, view in self.sync.store.views(connection, ticket_ids).items()
        }
        records = helpdesk.fetch(ticket_ids, known=known)
        now = self.sync.clock.now()
        returned = {record.ticket.id for record in records}
        unchanged = [r.ticket.id for r in records if known.get(r.ticket.id) == r.ticket.updated_at]
        changed = [r for r in records if known.get(r.ticket.id) != r.ticket.updated_at]
        with self.sync.store.transaction():
            if changed:
                self.sync.store.save_pull_page(connection, changed, None, now=now)
            if unchanged:
                self.sync.store.mark_seen(connection, unchanged, now)
            report.merge(
                self.sync.evaluate_keys([f"{connection}:{t}" for t in ticket_ids if t in returned], now)
            )
        report.verified += len(returned)
        gone = [ticket_id for ticket_id in ticket_ids if ticket_id not in returned]
        if gone:
            self.fail_unreadable(connection, gone, report)

    def refresh(self, connection: str, ticket_ids: Sequence[str]) -> CycleReport:
        """Re-read the tickets a verified webhook named (batched, unchanged ones cost no history
        read), store what changed and evaluate them again; the caller pushes. Tickets the helpdesk
        no longer shows are left alone: the next pull says what happened to them."""
        helpdesk = self.sync.helpdesks[connection]
        report = CycleReport()
        calls_before = helpdesk.api_calls
        known = {
            ticket_id: view[0] for ticket_id, view in self.sync.store.views(connection, ticket_ids).items()
        }
        records = helpdesk.fetch(ticket_ids, known=known)
        now = self.sync.clock.now()
        changed = [r for r in records if known.get(r.ticket.id) != r.ticket.updated_at]
        unchanged = [r.ticket.id for r in records if known.get(r.ticket.id) == r.ticket.updated_at]
        with self.sync.store.transaction():
            keys = self.sync.store.save_pull_page(connection, changed, None, now=now) if changed else []
            if unchanged:
                self.sync.store.mark_seen(connection, unchanged, now)
            report.merge(self.sync.evaluate_keys(keys, now))
        report.pulled += len(records)
        report.changed += len(keys)
        report.api_calls += helpdesk.api_calls - calls_before
        return report

    def fail_unreadable(self, connection: str, ticket_ids: list[str], report: CycleReport) -> None:
        failed = self.sync.store.fail_queued(
            connection,
            ticket_ids,
            "the ticket could not be read back before sending (deleted, merged, or no longer visible "
            "to the integration user); nothing was sent",
            now=self.sync.clock.now(),
        )
        report.failed += failed
        log.error(
            "tickets unreadable; their queued actions failed", connection=connection, tickets=ticket_ids
        )

    def replan(self, connection: str, ticket_ids: list[str], report: CycleReport) -> None:
        """After a 409 the ticket changed under us: re-read it and plan again from what it shows."""
        helpdesk = self.sync.helpdesks[connection]
        records = helpdesk.fetch(ticket_ids)
        now = self.sync.clock.now()
        with self.sync.store.transaction():
            changed = self.sync.store.save_pull_page(connection, records, None, now=now)
            keys = changed or [f"{connection}:{tid}" for tid in ticket_ids]
            report.merge(self.sync.evaluate_keys(keys, now))
