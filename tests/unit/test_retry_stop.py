"""The retry layer wakes on a stop request (`connector.stopping.StopSignal` as its sleep): a wait
ends at once with the error that caused it (its ambiguity kept, so an unknown write stays
flagged), and a call not started yet is not sent at all."""

from __future__ import annotations

import random
import threading

import pytest

from connector.retry import RetryPolicy, StopRequested, TransientError, retrying
from connector.stopping import StopSignal


def test_a_stop_during_a_retry_after_wait_reraises_the_error_that_caused_it() -> None:
    stop = StopSignal()
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        threading.Timer(0.05, stop.request, args=("SIGTERM",)).start()  # while the 1 h wait runs
        raise TransientError("HTTP 503", 503, retry_after=3600.0, ambiguous=True)

    policy = RetryPolicy(retry_after_cap=7200.0, max_total_wait=7200.0)
    with pytest.raises(TransientError) as raised:
        retrying(policy, sleep=stop, rng=random.Random(0))(flaky)
    assert (raised.value.status, raised.value.ambiguous, len(calls)) == (503, True, 1)


def test_a_call_after_the_stop_request_is_not_sent() -> None:
    stop = StopSignal()
    stop.request("budget spent")
    calls: list[int] = []
    with pytest.raises(StopRequested) as raised:
        retrying(RetryPolicy(), sleep=stop, rng=random.Random(0))(lambda: calls.append(1))
    assert (calls, raised.value.ambiguous) == ([], False)


def test_without_a_stop_the_signal_sleeps_like_time_sleep() -> None:
    stop = StopSignal()
    attempts: list[int] = []

    def second_time_lucky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise TransientError("HTTP 429", 429, retry_after=0.01)
        return "ok"

    assert retrying(RetryPolicy(), sleep=stop, rng=random.Random(0))(second_time_lucky) == "ok"
    assert len(attempts) == 2
