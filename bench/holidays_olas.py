"""CPU cost of the condition features on the evaluation path: parsing a holiday feed (ICS, with a
recurring event expanded to 2099) and measuring group holds (OLAs) of tickets that moved between
groups many times.

Run: ``.venv/bin/python bench/holidays_olas.py``. Figures are CPU time (``time.process_time``)
of this process, not wall time, so a loaded machine does not inflate them; peak RSS from
``resource.getrusage``.
"""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime, timedelta

from connector.domain.calendar import BusinessCalendar
from connector.domain.group_clocks import Ola, ola_holds
from connector.domain.ics_holidays import holidays_from_ics
from connector.domain.model import Event, EventKind, Status, Ticket

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BERLIN = BusinessCalendar.from_spec(
    {
        "timezone": "Europe/Berlin",
        "hours": {"mon-fri": ["09:00-12:30", "13:30-17:00"]},
        "holidays": {"country": "DE", "subdivision": "BE"},
    },
    name="berlin-office",
)


def feed(events: int) -> str:
    """A feed of `events` all-day events, one of them yearly without end."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    for i in range(events):
        day = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i * 3)).strftime("%Y%m%d")
        lines += [
            "BEGIN:VEVENT",
            f"UID:day-{i}@bench",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;VALUE=DATE:{day}",
            f"SUMMARY:Closed {i}",
            *(["RRULE:FREQ=YEARLY"] if i == 0 else []),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def moved_ticket(index: int, moves: int) -> tuple[Ticket, list[Event]]:
    ticket = Ticket(
        connection="zd",
        id=str(index),
        created_at=START,
        updated_at=START,
        status=Status.OPEN,
        subject="s",
        group_id="1",
    )
    events = [Event(id=f"{index}-c", at=START, kind=EventKind.CREATED)]
    for move in range(moves):
        events.append(
            Event(
                id=f"{index}-{move}",
                at=START + timedelta(hours=3 * (move + 1)),
                kind=EventKind.FIELD_CHANGE,
                field="group_id",
                value=str(2 - move % 2),
                previous=str(1 + move % 2),
            )
        )
    return ticket, events


def main() -> None:
    for size in (20, 200):
        text = feed(size)
        began = time.process_time()
        rounds = 20
        for _ in range(rounds):
            found = holidays_from_ics(text)
        per_parse = (time.process_time() - began) / rounds
        print(
            f"ICS feed, {size} all-day events (1 yearly): {len(found.dates)} closed days, "
            f"{per_parse * 1000:.1f} ms CPU per parse (once per mappings load)"
        )

    olas = {"tier-2": Ola("tier-2", timedelta(hours=4), "berlin-office")}
    aliases = {"tier-2": "2"}
    tickets = [moved_ticket(i, 20) for i in range(1000)]
    now = START + timedelta(days=5)
    began = time.process_time()
    holds = sum(
        len(ola_holds(t, events, olas, {"berlin-office": BERLIN}, aliases, now)) for t, events in tickets
    )
    spent = time.process_time() - began
    print(
        f"OLA holds, 1000 tickets x 20 group moves: {holds} holds measured on berlin-office, "
        f"{spent * 1000:.0f} ms CPU ({spent / len(tickets) * 1e6:.0f} us per ticket evaluation)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
