"""A stop request that the adapters' waits wake on (SIGTERM, the `--budget` of `sync --once`).

`StopSignal` is the `sleep` handed to the helpdesk adapters: it sleeps until the time is up or a
stop is requested, and then raises `connector.retry.StopRequested`, a transient failure. The push
code answers the actions it was sending RETRY, so they stay queued for the next run; the retry
layer skips calls not yet started once a stop is requested (see `connector.retry.retrying`).
"""

from __future__ import annotations

import threading

from connector.retry import StopRequested

__all__ = ["StopSignal"]


class StopSignal:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    @property
    def stop_requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str) -> None:
        """Ask every wait to end now; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def __call__(self, seconds: float) -> None:
        if self._event.wait(max(0.0, seconds)):
            raise StopRequested(f"stopping ({self.reason}) during a wait")
