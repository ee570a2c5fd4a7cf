"""JSM's own SLA objects (`/rest/servicedeskapi/request/{key}/sla`), so tierdesk's clocks can be
compared with what Jira Service Management would show.

A deliberately small model of JSM's default SLAs on a 24x7 calendar: "Time to first response"
(stops at the first public comment by someone other than the customer) and "Time to resolution"
(stops when the issue enters a Done status, paused while "Waiting for customer"), goals by priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugins.jira.emulator.model import Issue, JiraSite
from plugins.jira.emulator.render import View

HOUR_MS = 3_600_000
WAITING_FOR_CUSTOMER = "10002"

# priority name -> (first response goal, resolution goal)
GOALS: dict[str, tuple[int, int]] = {
    "Highest": (1 * HOUR_MS, 4 * HOUR_MS),
    "High": (2 * HOUR_MS, 8 * HOUR_MS),
    "Medium": (4 * HOUR_MS, 24 * HOUR_MS),
    "Low": (8 * HOUR_MS, 48 * HOUR_MS),
    "Lowest": (8 * HOUR_MS, 48 * HOUR_MS),
}


@dataclass(frozen=True)
class Cycle:
    start_ms: int
    stop_ms: int | None
    goal_ms: int
    elapsed_ms: int
    breach_ms: int | None
    paused: bool


def friendly(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    minutes = abs(ms) // 60_000
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{sign}{hours}h {minutes}m"
    return f"{sign}{hours}h" if hours else f"{sign}{minutes}m"


def _status_timeline(issue: Issue) -> list[tuple[int, str]]:
    timeline = [(issue.created_ms, "10001")]
    for history in issue.histories:
        for item in history.items:
            if item.get("fieldId") == "status" and item.get("to"):
                timeline.append((history.created_ms, str(item["to"])))
    return timeline


def _first_response_stop(issue: Issue, site: JiraSite) -> int | None:
    for comment in issue.comments:
        author = site.users.get(comment.author)
        if comment.internal or author is None:
            continue
        if author.account_type == "customer" or comment.author == issue.reporter:
            continue
        return comment.created_ms
    return None


def _resolution_stop(issue: Issue, site: JiraSite) -> int | None:
    for at, status_id in _status_timeline(issue)[1:]:
        if site.statuses[status_id].category == "done":
            return at
    return None


def _cycle(
    start: int, stop: int | None, goal: int, now_ms: int, pauses: list[tuple[int, int | None]]
) -> Cycle:
    end = stop if stop is not None else now_ms
    paused_ms = 0
    paused_now = False
    for pause_start, pause_end in pauses:
        effective_end = min(pause_end if pause_end is not None else end, end)
        if effective_end > pause_start:
            paused_ms += effective_end - pause_start
        if pause_end is None and stop is None:
            paused_now = True
    elapsed = max(0, end - start - paused_ms)
    breach = None if paused_now else end + (goal - elapsed)
    return Cycle(start, stop, goal, elapsed, breach, paused_now)


def sla_cycles(issue: Issue, site: JiraSite, now_ms: int) -> list[tuple[str, Cycle]]:
    priority = site.priority_by_name_or_id(issue.priority_id or "3")
    first_goal, resolution_goal = GOALS.get(priority.name if priority else "Medium", GOALS["Medium"])
    pauses: list[tuple[int, int | None]] = []
    timeline = _status_timeline(issue)
    for index, (at, status_id) in enumerate(timeline):
        if status_id == WAITING_FOR_CUSTOMER:
            following = timeline[index + 1][0] if index + 1 < len(timeline) else None
            pauses.append((at, following))
    return [
        (
            "Time to first response",
            _cycle(issue.created_ms, _first_response_stop(issue, site), first_goal, now_ms, []),
        ),
        (
            "Time to resolution",
            _cycle(issue.created_ms, _resolution_stop(issue, site), resolution_goal, now_ms, pauses),
        ),
    ]


def render_sla(issue: Issue, site: JiraSite, view: View, now_ms: int) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    for index, (name, cycle) in enumerate(sla_cycles(issue, site, now_ms), start=1):
        remaining = cycle.goal_ms - cycle.elapsed_ms
        body: dict[str, Any] = {
            "startTime": view.jsm_date(cycle.start_ms),
            "breached": remaining < 0,
            "goalDuration": {"millis": cycle.goal_ms, "friendly": friendly(cycle.goal_ms)},
            "elapsedTime": {"millis": cycle.elapsed_ms, "friendly": friendly(cycle.elapsed_ms)},
            "remainingTime": {"millis": remaining, "friendly": friendly(remaining)},
        }
        if cycle.breach_ms is not None:
            body["breachTime"] = view.jsm_date(cycle.breach_ms)
        sla: dict[str, Any] = {
            "id": str(index),
            "name": name,
            "_links": {"self": f"{view.base}/rest/servicedeskapi/request/{issue.id}/sla/{index}"},
            "completedCycles": [],
            "slaDisplayFormat": "NEW_SLA_FORMAT",
        }
        if cycle.stop_ms is not None:
            body["stopTime"] = view.jsm_date(cycle.stop_ms)
            sla["completedCycles"] = [body]
        else:
            body["paused"] = cycle.paused
            body["withinCalendarHours"] = True
            sla["ongoingCycle"] = body
        values.append(sla)
    return values
