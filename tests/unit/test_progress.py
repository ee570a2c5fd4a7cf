"""Progress of long sync work: done of total, rate and ETA, logged every few seconds when the
output is not a terminal. Time is a fake monotonic clock the test advances."""

from __future__ import annotations

from typing import Any

from connector.progress import LogProgress, PhaseRate


class Ticking:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_emits_done_total_rate_and_eta_once_per_interval() -> None:
    clock = Ticking()
    events: list[dict[str, Any]] = []
    progress = LogProgress(events.append, interval=5.0, clock=clock)

    progress.update("pull", "jira-main", 0, None)
    clock.now += 1
    progress.update("pull", "jira-main", 100, 1000)  # 1 s in: too soon for an event
    clock.now += 4
    progress.update("pull", "jira-main", 500, 1000)  # 5 s in: 100 tickets/s, 5 s left
    clock.now += 1
    progress.update("pull", "jira-main", 600, 1000)  # 1 s after the last event: quiet

    assert events == [
        {
            "phase": "pull",
            "connection": "jira-main",
            "done": 500,
            "total": 1000,
            "rate_per_s": 100.0,
            "eta_s": 5,
        }
    ]


def test_log_progress_always_reports_a_phase_reaching_its_total() -> None:
    clock = Ticking()
    events: list[dict[str, Any]] = []
    progress = LogProgress(events.append, interval=5.0, clock=clock)

    progress.update("push", "zendesk-main", 0, 300)
    clock.now += 2
    progress.update("push", "zendesk-main", 300, 300)

    assert [(e["phase"], e["done"], e["total"], e["rate_per_s"], e["eta_s"]) for e in events] == [
        ("push", 300, 300, 150.0, 0)
    ]


def test_phases_and_connections_are_tracked_apart() -> None:
    clock = Ticking()
    events: list[dict[str, Any]] = []
    progress = LogProgress(events.append, interval=5.0, clock=clock)

    progress.update("pull", "zendesk-main", 0, None)
    clock.now += 3
    progress.update("pull", "jira-main", 0, 50)
    clock.now += 3
    progress.update("pull", "zendesk-main", 600, None)  # 6 s into its own phase
    progress.update("pull", "jira-main", 10, 50)  # 3 s into its own: quiet

    assert [(e["connection"], e["done"], e["total"], e["eta_s"]) for e in events] == [
        ("zendesk-main", 600, None, None)
    ]


def test_eta_is_unknown_without_a_total_or_before_time_passes() -> None:
    assert PhaseRate(started=10.0, done=50, total=None).eta_seconds(15.0) is None
    assert PhaseRate(started=10.0, done=0, total=100).eta_seconds(10.0) is None
    assert PhaseRate(started=10.0, done=25, total=100).eta_seconds(15.0) == 15.0


def test_a_worker_logs_completion_only_of_phases_long_enough_to_have_logged_before() -> None:
    clock = Ticking()
    events: list[dict[str, Any]] = []
    progress = LogProgress(events.append, interval=5.0, clock=clock, quiet_short_phases=True)

    progress.update("push", "zendesk-main", 0, 20)
    clock.now += 1
    progress.update("push", "zendesk-main", 20, 20)  # a small cycle: quiet
    progress.update("pull", "zendesk-main", 0, 3000)
    clock.now += 6
    progress.update("pull", "zendesk-main", 1200, 3000)
    clock.now += 1
    progress.update("pull", "zendesk-main", 3000, 3000)  # a long one: its end is logged

    assert [(e["phase"], e["done"]) for e in events] == [("pull", 1200), ("pull", 3000)]
