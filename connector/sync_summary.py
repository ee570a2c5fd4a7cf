"""The one-line summary of a sync cycle (`sync --once`, a worker cycle): every outcome counted.

A cycle's actions end in one of: sent (applied, or found already applied), failed, skipped (never
sent: superseded by a later threshold or by a newer plan of the same ticket), withdrawn (an
escalation step a fresh view of the ticket denies), or left queued (retry later, not reached, or
the cycle stopped early). Skipped and withdrawn rows are written deep inside the store's unit of
work, which counts them as it commits them (`Store.unsent_tally`); the cycle takes the difference
of that running tally before and after it (`OutboxTally`), so its cost does not grow with the
outbox's history. The counts are this worker's own: with several workers on one store, each
reports what it skipped and withdrew.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector.store.tables import OutboxStatus

if TYPE_CHECKING:
    from connector.ports import Store


@dataclass(slots=True)
class CycleReport:
    """What one cycle did, for the one-line summary and the demo."""

    pulled: int = 0
    changed: int = 0
    evaluated: int = 0
    queued: int = 0
    pushed: int = 0
    retried: int = 0
    failed: int = 0
    conflicts: int = 0
    skipped_records: int = 0
    settled: int = 0  # clock cycles decided (met or breached) and recorded
    verified: int = 0  # tickets re-read before pushing because their stored view was too old
    api_calls: int = 0
    lag_seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # actions never sent, by short reason
    withdrawn: int = 0  # escalation steps a fresh view of the ticket denies
    left_queued: int = 0  # actions still queued when the cycle ended (`connector.sync_summary`)
    own_write_backs: int = 0  # pulled tickets whose only change was tierdesk's (`connector.own_writes`)
    # connections not pulled because another worker on the same database leads them
    led_elsewhere: list[str] = field(default_factory=list)

    def merge(self, other: CycleReport) -> None:
        for name in (
            "pulled",
            "changed",
            "evaluated",
            "queued",
            "pushed",
            "retried",
            "failed",
            "conflicts",
            "skipped_records",
            "settled",
            "verified",
            "api_calls",
            "withdrawn",
            "left_queued",
            "own_write_backs",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lag_seconds = max(self.lag_seconds, other.lag_seconds)
        for key, value in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + value
        for key, value in other.skipped.items():
            self.skipped[key] = self.skipped.get(key, 0) + value
        self.led_elsewhere += [c for c in other.led_elsewhere if c not in self.led_elsewhere]


_SKIP_REASONS = {
    None: "superseded",  # a later threshold of the cycle, or crossed before tierdesk first synced
    "replaced by a newer plan": "replaced",
    "ticket deleted in the helpdesk": "ticket deleted",
}


def skip_reason(recorded: str | None) -> str:
    """The short name a skipped row's recorded reason is counted under."""
    return _SKIP_REASONS.get(recorded, recorded or "superseded")


@dataclass(frozen=True, slots=True)
class OutboxTally:
    """Skipped rows by short reason and the withdrawn count the store has committed so far."""

    skipped: Counter[str]
    withdrawn: int

    @classmethod
    def take(cls, store: Store) -> OutboxTally:
        skipped: Counter[str] = Counter()
        withdrawn = 0
        for (status, reason), count in store.unsent_tally().items():
            if status == OutboxStatus.WITHDRAWN.value:
                withdrawn += count
            else:
                skipped[skip_reason(reason)] += count
        return cls(skipped, withdrawn)


def finish_cycle(report: CycleReport, store: Store, before: OutboxTally) -> None:
    """Fill the outcomes the sync loop does not see itself: skipped (by reason) and withdrawn
    during the cycle, and how many actions are left queued once it is over."""
    after = OutboxTally.take(store)
    for reason, count in (after.skipped - before.skipped).items():
        report.skipped[reason] = report.skipped.get(reason, 0) + count
    report.withdrawn += max(0, after.withdrawn - before.withdrawn)
    report.left_queued = store.queued_count()


def summary_fields(report: CycleReport) -> dict[str, Any]:
    """The cycle's counts as structured-log fields (the worker's `cycle` event)."""
    fields: dict[str, Any] = {
        "pulled": report.pulled,
        "changed": report.changed,
        "own_write_backs": report.own_write_backs,  # pulled back, stored, not evaluated again
        "evaluated": report.evaluated,
        "settled": report.settled,
        "verified": report.verified,
        "queued": report.queued,
        "sent": report.pushed,
        "skipped": sum(report.skipped.values()),
        "skipped_reasons": dict(sorted(report.skipped.items())),
        "failed": report.failed,
        "withdrawn": report.withdrawn,
        "retried": report.retried,
        "conflicts": report.conflicts,
        "left_queued": report.left_queued,
        "records_skipped": report.skipped_records,
        "api_calls": report.api_calls,
    }
    if report.led_elsewhere:
        fields["led_elsewhere"] = list(report.led_elsewhere)
    return fields


def summary_line(report: CycleReport) -> str:
    """One line for people: `pulled 30, evaluated 30, queued 81, sent 75, skipped 4 (superseded
    3, replaced 1), failed 0, withdrawn 2, left queued 0, ...`."""
    skipped = sum(report.skipped.values())
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(report.skipped.items()) if count)
    parts = [
        f"pulled {report.pulled:,}",
        f"changed {report.changed:,}",
        f"evaluated {report.evaluated:,}",
        f"settled {report.settled:,}",
        f"re-read {report.verified:,}",
        f"queued {report.queued:,}",
        f"sent {report.pushed:,}",
        f"skipped {skipped:,}" + (f" ({reasons})" if reasons else ""),
        f"failed {report.failed:,}",
        f"withdrawn {report.withdrawn:,}",
        f"retried {report.retried:,}",
        f"left queued {report.left_queued:,}",
    ]
    if report.skipped_records:
        parts.append(f"records unreadable {report.skipped_records:,}")
    parts.append(f"api calls {report.api_calls:,}")
    parts += [f"{connection}: pulled by another worker" for connection in report.led_elsewhere]
    return ", ".join(parts)
