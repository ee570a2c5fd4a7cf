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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connector.store.tables import OutboxStatus

if TYPE_CHECKING:
    from connector.ports import Store
    from connector.sync import CycleReport


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
