"""Clock adapters (the `Clock` port): the system clock, a fixed clock for tests and replays, and a
scaled clock that runs simulated time faster than real time (the demo runs a day in minutes)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_real(self, instant: datetime) -> datetime:
        return instant


class FixedClock:
    """Moves only when told; tests advance it instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def to_real(self, instant: datetime) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Simulated time starting at `start` and running `speed` times faster than real time.

    `to_real` maps a simulated instant to the real instant it will be reached, so a real scheduler
    (APScheduler) can fire a job at a simulated deadline.
    """

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._real_start = time.monotonic()
        self._wall_start = datetime.now(UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._real_start) * self.speed)

    def to_real(self, instant: datetime) -> datetime:
        return self._wall_start + (instant - self.start) / self.speed

    def real_seconds(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.speed

    def sleep(self, simulated_seconds: float) -> None:
        """Wait `simulated_seconds` of simulated time (for adapters' back-off and polling)."""
        threading.Event().wait(max(0.0, simulated_seconds) / self.speed)
