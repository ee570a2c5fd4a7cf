"""Zendesk's per-minute request budgets, counted on the emulator's clock.

Two fixed one-minute windows: the account bucket (700 requests/minute by default, the Enterprise
plan) that every API request draws from, and the incremental-export bucket (10/minute) that the
`/api/v2/incremental/` endpoints draw from as well. Because the windows follow the `SimClock`, a
simulated-clock test moves past a limit by advancing the clock instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the blocking window resets (0 when allowed)


class MinuteBucket:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = -1
        self._used = 0

    def _roll(self, now: float) -> None:
        window = int(now // 60)
        if window != self._window:
            self._window = window
            self._used = 0

    def peek(self, now: float) -> int:
        self._roll(now)
        return max(self.limit - self._used, 0)

    def take(self, now: float) -> bool:
        self._roll(now)
        if self._used >= self.limit:
            return False
        self._used += 1
        return True

    def reset_in(self, now: float) -> int:
        return max(1, math.ceil((self._window + 1) * 60 - now))


class RateLimiter:
    def __init__(self, per_minute: int = 700, incremental_per_minute: int = 10) -> None:
        self.account = MinuteBucket(per_minute)
        self.incremental = MinuteBucket(incremental_per_minute)
        self._lock = threading.Lock()

    def check(self, now: float, incremental: bool) -> Verdict:
        """Count one request; say whether it may proceed and what the headers should show."""
        with self._lock:
            if incremental and self.incremental.peek(now) <= 0:
                return Verdict(
                    False, self.account.limit, self.account.peek(now), self.incremental.reset_in(now)
                )
            if not self.account.take(now):
                return Verdict(False, self.account.limit, 0, self.account.reset_in(now))
            if incremental:
                self.incremental.take(now)
            return Verdict(True, self.account.limit, self.account.peek(now), 0)

    def status(self, now: float) -> Verdict:
        with self._lock:
            return Verdict(True, self.account.limit, self.account.peek(now), 0)
