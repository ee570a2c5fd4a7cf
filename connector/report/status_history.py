"""The status history `tierdesk explain` shows: each status the helpdesk gave the ticket (a Zendesk
custom status under its agent label, a Jira status under its name), the canonical status it counts
as through the connection's `status_map`, and which of the tier's clocks it pauses."""

from __future__ import annotations

from collections.abc import Sequence

from connector.domain.formatting import iso
from connector.domain.model import Event, EventKind
from connector.domain.policy import Tier


def status_rows(events: Sequence[Event], tier: Tier) -> list[tuple[str, str, str, str]]:
    """(at, helpdesk status, counts as, pauses) for every status change, oldest first."""
    measured = sorted({metric for targets in tier.targets.values() for metric in targets})
    rows = []
    for event in events:
        if event.kind is not EventKind.STATUS_CHANGE or event.status is None:
            continue
        paused = [m.value for m in measured if event.status in tier.settings(m).pause_statuses]
        shown = event.value or event.status.value
        rows.append((iso(event.at) or "-", shown, event.status.value, ", ".join(paused) or "-"))
    return rows
