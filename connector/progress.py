"""Progress of long sync work (a first pull of thousands of tickets, evaluating them, pushing the
actions they planned): done of total, rate and ETA.

The sync loop reports through `CycleProgress.update(phase, connection, done, total)`: once with
`done=0` when a phase starts, then after every page or batch. `total` is None while unknown (a
Zendesk cursor export does not say how many tickets it holds; Jira's approximate count does).
Two renderings: `TerminalProgress` (rich bars on a terminal) and `LogProgress` (a structured
`progress` event every few seconds when the output is a log, not a person).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Phase = Literal["pull", "evaluate", "push"]
LOG_INTERVAL_SECONDS = 5.0

_NOUNS: dict[str, str] = {"pull": "tickets fetched", "evaluate": "tickets evaluated", "push": "actions sent"}


class CycleProgress(Protocol):
    def update(self, phase: Phase, connection: str, done: int, total: int | None) -> None:
        """`done` of `total` (None: not known) items of `phase` on `connection` ("" for work that
        spans connections) are finished."""


@dataclass(slots=True)
class PhaseRate:
    """Done, total, rate and ETA of one phase, from when it started (`done=0`)."""

    started: float
    done: int = 0
    total: int | None = None

    def rate(self, now: float) -> float | None:
        """Items per second so far; None before any time has passed."""
        elapsed = now - self.started
        return self.done / elapsed if elapsed > 0 else None

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left at the rate so far; None without a total or before anything was done."""
        rate = self.rate(now)
        if self.total is None or not rate:
            return None
        return max(0, self.total - self.done) / rate

    def event(self, phase: str, connection: str, now: float) -> dict[str, Any]:
        rate = self.rate(now)
        eta = self.eta_seconds(now)
        return {
            "phase": phase,
            "connection": connection,
            "done": self.done,
            "total": self.total,
            "rate_per_s": None if rate is None else round(rate, 1),
            "eta_s": None if eta is None else round(eta),
        }


class LogProgress:
    """Logs `progress` events (`done`, `total`, `rate_per_s`, `eta_s`) at most every `interval`
    seconds per phase, and when a phase reaches its total: always (`sync --once`: the log shows
    what the run did), or with `quiet_short_phases` only if the phase lasted long enough to log
    before (the worker: its frequent small cycles log only their `cycle` line). `clock` is
    monotonic seconds."""

    def __init__(
        self,
        emit: Callable[[dict[str, Any]], None] | None = None,
        *,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        quiet_short_phases: bool = False,
    ) -> None:
        self._emit = emit or _log_event
        self._quiet_short_phases = quiet_short_phases
        self._logged: set[tuple[str, str]] = set()
        self._interval = interval
        self._clock = clock
        self._phases: dict[tuple[str, str], PhaseRate] = {}
        self._last: dict[tuple[str, str], float] = {}

    def update(self, phase: Phase, connection: str, done: int, total: int | None) -> None:
        now = self._clock()
        key = (phase, connection)
        if done == 0 or key not in self._phases:
            self._phases[key] = PhaseRate(started=now, total=total)
            self._last[key] = now
            self._logged.discard(key)
            if done == 0:
                return
        state = self._phases[key]
        state.done = done
        state.total = total if total is not None else state.total
        finished = state.total is not None and done >= state.total
        if finished and self._quiet_short_phases and key not in self._logged:
            finished = False
        if finished or now - self._last[key] >= self._interval:
            self._last[key] = now
            self._logged.add(key)
            self._emit(state.event(phase, connection, now))


def _log_event(fields: dict[str, Any]) -> None:
    structlog.get_logger("tierdesk.progress").info("progress", **fields)


class TerminalProgress:
    """Rich progress bars, one per phase and connection: description, bar, done/total, rate and
    time remaining (a spinner and the count while the total is unknown)."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._tasks: dict[tuple[str, str], TaskID] = {}

    def update(self, phase: Phase, connection: str, done: int, total: int | None) -> None:
        key = (phase, connection)
        description = f"{phase} {connection}".strip()
        if key not in self._tasks:
            self._tasks[key] = self._bars.add_task(description, total=total, noun=_NOUNS[phase])
        self._bars.update(self._tasks[key], completed=done, total=total)


class RateColumn(ProgressColumn):
    """Items per second over rich's recent window."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:,.0f}/s")


@contextmanager
def cycle_progress(console: Console | None = None, *, stream: Any = None) -> Iterator[CycleProgress]:
    """Progress for a sync run: bars when `stream` (default stderr) is a terminal, else periodic
    `progress` log events."""
    out = stream or sys.stderr
    if not out.isatty():
        yield LogProgress()
        return
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[noun]}"),
        RateColumn(),
        TimeRemainingColumn(),
        console=console or Console(file=out),
        transient=True,
    )
    with bars:
        yield TerminalProgress(bars)
