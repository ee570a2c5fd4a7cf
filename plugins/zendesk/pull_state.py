"""Where a Zendesk pull stands: the cursor a restart resumes from (`PullCursor`) and the ticket
events export read alongside the ticket export (`EventWindow`). See the client's docstring, Pull."""

from __future__ import annotations

import base64
import itertools
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from connector.retry import PermanentError
from plugins.zendesk.waiting_events import WaitingEvents

if TYPE_CHECKING:
    from plugins.zendesk.client import ZendeskHelpdesk

log = structlog.get_logger("tierdesk.zendesk")


@dataclass(frozen=True)
class PullCursor:
    """What a restart needs: the export cursor (or start time), the instant up to which ticket
    events were consumed, and the events still waiting for their ticket (the oldest one's time and
    the tickets they belong to; on an initial sync these can be thousands, kept compressed)."""

    export_cursor: str | None
    start_time: int
    events_done: int
    oldest_waiting: int | None = None
    waiting_tickets: tuple[int, ...] = ()

    def encode(self) -> str:
        raw = json.dumps(
            {
                "c": self.export_cursor,
                "s": self.start_time,
                "e": self.events_done,
                "w": self.oldest_waiting,
                "i": _pack_ids(self.waiting_tickets),
            },
            separators=(",", ":"),
        )
        return "zd1." + base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, text: str) -> PullCursor:
        if not text.startswith("zd1."):
            raise ValueError(f"not a Zendesk pull cursor: {text[:20]!r}")
        raw = json.loads(base64.urlsafe_b64decode(text[4:].encode()))
        return cls(raw["c"], int(raw["s"]), int(raw["e"]), raw.get("w"), _unpack_ids(raw.get("i") or ""))


def _pack_ids(ids: tuple[int, ...]) -> str:
    if not ids:
        return ""
    ordered = sorted(set(ids))
    deltas = [ordered[0]] + [b - a for a, b in itertools.pairwise(ordered)]
    packed = zlib.compress(",".join(map(str, deltas)).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode()


def _unpack_ids(text: str) -> tuple[int, ...]:
    if not text:
        return ()
    deltas = [int(x) for x in zlib.decompress(base64.urlsafe_b64decode(text.encode())).decode().split(",")]
    out: list[int] = []
    total = 0
    for d in deltas:
        total += d
        out.append(total)
    return tuple(out)


class EventWindow:
    """The ticket events export, read forward in time and handed out per ticket.

    `done`: events up to this instant have been consumed (delivered or waiting). Waiting events
    belong to tickets not seen yet; `oldest_waiting` goes into the cursor so a restart re-reads
    from there."""

    def __init__(self, client: ZendeskHelpdesk, state: PullCursor) -> None:
        self.client = client
        self.done = state.events_done
        start = state.events_done + 1
        if state.oldest_waiting is not None:
            start = min(start, state.oldest_waiting)
        self.next_start = max(start, 0)
        self.fetched: list[Mapping[str, Any]] = []  # read but not consumed (later than `done`)
        self.waiting = WaitingEvents(client.spill_after, connection=client.name)
        # event id -> timestamp of events read at or after `next_start`: pages overlap only there
        self.seen: dict[int, int | None] = {}
        # re-read after a restart: events up to `replay_until` matter only for tickets that were
        # waiting then; every other ticket's events were delivered before the restart
        self.replay_until = state.events_done if state.oldest_waiting is not None else None
        self.replay_tickets = {str(t) for t in state.waiting_tickets}

    def _read_until(self, instant: int) -> None:
        while self.next_start <= instant:
            try:
                page = self.client._get_json(
                    "/api/v2/incremental/ticket_events.json",
                    {"start_time": self.next_start, "include": "comment_events"},
                )
            except PermanentError as exc:
                if "StartTimeTooRecent" in str(exc):
                    return
                raise
            for ev in page.get("ticket_events") or []:
                ev_id = ev.get("id") if isinstance(ev, Mapping) else None
                if not isinstance(ev_id, int) or ev_id in self.seen:
                    continue
                ts = ev.get("timestamp")
                if (
                    self.replay_until is not None
                    and isinstance(ts, int)
                    and ts <= self.replay_until
                    and str(ev.get("ticket_id")) not in self.replay_tickets
                ):
                    continue
                self.seen[ev_id] = ts if isinstance(ts, int) else None
                self.fetched.append(ev)
            self._sort_through(instant)  # page by page: a first sync reads the whole history here
            end_time = int(page.get("end_time") or self.next_start)
            if page.get("end_of_stream"):
                self._advance(max(end_time, self.next_start))
                return
            if end_time <= self.next_start:
                # a page that did not move forward would be served again forever
                log.warning(
                    "zendesk.events_page_stuck", connection=self.client.name, start_time=self.next_start
                )
                end_time = self.next_start + 1
            self._advance(end_time)

    def _advance(self, start: int) -> None:
        """The next page starts at `start`: only events from then on can be served again."""
        self.next_start = start
        self.seen = {i: t for i, t in self.seen.items() if t is None or t >= start}

    def consume_through(self, instant: int) -> None:
        """Read every event up to `instant` and sort it to its ticket."""
        self._read_until(instant)
        self._sort_through(instant)
        self.done = max(self.done, instant)

    def _sort_through(self, instant: int) -> None:
        """Move fetched events up to `instant` to the tickets they wait for."""
        later: list[Mapping[str, Any]] = []
        now: list[tuple[str, Mapping[str, Any]]] = []
        for ev in self.fetched:
            ts = ev.get("timestamp")
            if isinstance(ts, int) and ts > instant:
                later.append(ev)
                continue
            now.append((str(ev.get("ticket_id")), ev))
        self.waiting.add_many(now)
        self.fetched = later

    def take(self, ticket_ids: set[str]) -> dict[str, list[Mapping[str, Any]]]:
        return self.waiting.take(sorted(ticket_ids))

    def take_all(self) -> dict[str, list[Mapping[str, Any]]]:
        return self.waiting.take_all()

    def waiting_tickets(self) -> tuple[int, ...]:
        return tuple(int(t) for t in self.waiting.ticket_ids() if t.isdigit())

    def oldest_waiting(self) -> int | None:
        return self.waiting.oldest()

    def close(self) -> None:
        """Drop what still waits (and its spill file): the pull ended or was abandoned."""
        self.waiting.close()
