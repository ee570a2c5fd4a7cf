"""The OLA table of `tierdesk report`: per group with an OLA, the tickets it held, the time held
per hold (p50, p90, business time on the OLA's calendar), the target and the share of holds
within it. Reads settled holds only (`ola_hold`), so a later edit of a target or calendar never
changes a figure already reported."""

from __future__ import annotations

import html
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from rich.console import Console
from rich.table import Table

from connector.domain.formatting import human, iso
from connector.domain.group_clocks import OlaHold
from connector.store.ola_record import StoredOlaHold

COLUMNS = ("group", "tickets", "holds", "held p50", "held p90", "target", "within target")


@dataclass(frozen=True, slots=True)
class OlaRow:
    group: str
    tickets: int
    holds: int
    held_p50: timedelta
    held_p90: timedelta
    targets: tuple[timedelta, ...]  # every target the holds were settled with (an edit adds one)
    within_percent: float

    def cells(self) -> tuple[str, ...]:
        return (
            self.group,
            str(self.tickets),
            str(self.holds),
            human(self.held_p50),
            human(self.held_p90),
            " / ".join(human(t) for t in self.targets),
            f"{self.within_percent:.1f}%",
        )


def ola_rows(holds: Sequence[StoredOlaHold]) -> list[OlaRow]:
    """One row per OLA (by name), in name order."""
    by_ola: dict[str, list[StoredOlaHold]] = {}
    for hold in holds:
        by_ola.setdefault(hold.ola, []).append(hold)
    rows = []
    for name in sorted(by_ola):
        group = by_ola[name]
        seconds = sorted(h.held.total_seconds() for h in group)
        rows.append(
            OlaRow(
                group=name,
                tickets=len({(h.connection, h.ticket_id) for h in group}),
                holds=len(group),
                held_p50=timedelta(seconds=round(statistics.median(seconds))),
                held_p90=timedelta(seconds=round(_p90(seconds))),
                targets=tuple(sorted({h.target for h in group})),
                within_percent=100.0 * sum(h.within_target for h in group) / len(group),
            )
        )
    return rows


def _p90(sorted_seconds: Sequence[float]) -> float:
    if len(sorted_seconds) == 1:
        return sorted_seconds[0]
    return statistics.quantiles(sorted_seconds, n=10, method="inclusive")[8]


def ola_text(rows: Sequence[OlaRow]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    console = Console(file=out, width=140, color_system=None, force_terminal=False, highlight=False)
    table = Table(title="group ownership (OLA): settled holds that ended in the period")
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*row.cells())
    console.print(table)
    return out.getvalue()


def ola_html(rows: Sequence[OlaRow]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row.cells()) + "</tr>" for row in rows
    )
    return (
        '<section id="olas"><h2>Group ownership (OLA)</h2>'
        "<p>Settled holds that ended in the period: time each group held a ticket, on its calendar.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>\n"
    )


def with_ola_table(text: str, fmt: str, rows: Sequence[OlaRow]) -> str:
    """The rendered text or HTML report with the OLA table added (JSON carries the rows as the
    report's `olas`)."""
    if fmt == "text":
        return text + ola_text(rows)
    if fmt == "html" and rows:
        return text.replace("</main>", ola_html(rows) + "</main>", 1)
    return text


def explain_rows(holds: Sequence[OlaHold], settled: Sequence[StoredOlaHold]) -> list[tuple[str, ...]]:
    """`tierdesk explain`'s group ownership rows: a settled hold as recorded, else as measured now."""
    recorded = {(h.group_id, h.started_at): h for h in settled}
    rows: list[tuple[str, ...]] = []
    for hold in holds:
        kept = recorded.get((hold.group_id, hold.started_at))
        held, target = (kept.held, kept.target) if kept is not None else (hold.held, hold.target)
        rows.append(
            (
                hold.ola,
                iso(hold.started_at) or "-",
                iso(hold.ended_at) or "holding",
                human(held),
                human(target),
                "yes" if held <= target else "no",
                "settled" if kept is not None else ("ended" if hold.settled else "running"),
            )
        )
    return rows
