"""A stop request that the adapters' waits wake on (SIGTERM, the `--budget` of `sync --once`).

`StopSignal` is the `sleep` handed to the helpdesk adapters: it sleeps until the time is up or a
stop is requested, and then raises `connector.retry.StopRequested`, a transient failure. The push
code answers the actions it was sending RETRY, so they stay queued for the next run; the retry
layer skips calls not yet started once a stop is requested (see `connector.retry.retrying`).

Inside `giving_way(check)` (the sync's pull fetching its next page) a wait on that thread also
ends, with `connector.retry.GiveWay`, as soon as `check()` is true: a pull waiting out the
export's rate limit does not keep a webhook's tickets waiting for the length of a Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from connector.retry import GiveWay, StopRequested

__all__ = ["StopSignal"]

GIVE_WAY_POLL = 0.1  # seconds between looks at whether other work waits, during a giving-way wait


class StopSignal:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self._local = threading.local()  # the giving-way check of the waits on this thread

    @property
    def stop_requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str) -> None:
        """Ask every wait to end now; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @contextmanager
    def giving_way(self, other_work_waits: Callable[[], bool]) -> Iterator[None]:
        """Waits on this thread inside the block end with `GiveWay` once `other_work_waits()`."""
        self._local.check = other_work_waits
        try:
            yield
        finally:
            self._local.check = None

    def __call__(self, seconds: float) -> None:
        check: Callable[[], bool] | None = getattr(self._local, "check", None)
        if check is None:
            if self._event.wait(max(0.0, seconds)):
                raise StopRequested(f"stopping ({self.reason}) during a wait")
            return
        until = time.monotonic() + max(0.0, seconds)
        while True:
            if check():
                raise GiveWay
            left = until - time.monotonic()
            if left <= 0:
                return
            if self._event.wait(min(left, GIVE_WAY_POLL)):
                raise StopRequested(f"stopping ({self.reason}) during a wait")
