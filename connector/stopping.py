"""A stop request that the adapters' waits wake on (SIGTERM, the `--budget` of `sync --once`).

`StopSignal` is the `sleep` handed to the helpdesk adapters: it sleeps until the time is up or a
stop is requested, and then raises `connector.retry.StopRequested`, a transient failure. The push
code answers the actions it was sending RETRY, so they stay queued for the next run; the retry
layer skips calls not yet started once a stop is requested (see `connector.retry.retrying`).

Inside `serving(work)` (the sync's pull fetching its next page) a wait on that thread also runs
`work` every `SERVE_POLL` seconds: a pull waiting out the export's rate limit spends the wait on a
webhook's tickets or a deadline instead of keeping them waiting (`SyncService.waiting_work`).
Waits inside `work` itself are plain waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from connector.retry import StopRequested

__all__ = ["StopSignal"]

SERVE_POLL = 0.1  # seconds between looks for waiting work, during a serving wait


class StopSignal:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self._local = threading.local()  # the work the waits on this thread serve, if any

    @property
    def stop_requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str) -> None:
        """Ask every wait to end now; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @contextmanager
    def serving(self, work: Callable[[], None]) -> Iterator[None]:
        """Waits on this thread inside the block run `work` while they wait."""
        self._local.work = work
        try:
            yield
        finally:
            self._local.work = None

    def __call__(self, seconds: float) -> None:
        work: Callable[[], None] | None = getattr(self._local, "work", None)
        until = time.monotonic() + max(0.0, seconds)
        while True:
            left = until - time.monotonic()
            if work is None:
                if self._event.wait(max(0.0, left)):
                    raise StopRequested(f"stopping ({self.reason}) during a wait")
                return
            if left <= 0:
                return
            if self._event.wait(min(left, SERVE_POLL)):
                raise StopRequested(f"stopping ({self.reason}) during a wait")
            self._local.work = None  # the work's own waits are plain waits
            try:
                work()
            finally:
                self._local.work = work
