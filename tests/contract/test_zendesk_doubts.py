"""Judging uncertain sends from the ticket as Zendesk shows it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from plugins.zendesk.doubts import judge

PLANNED = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
FIELDS = {"sla_due": "901"}


def _action(key: str, kind: ActionKind, **kw: object) -> Action:
    return Action(key=key, connection="zd", ticket_id="7", kind=kind, basis=PLANNED, **kw)  # type: ignore[arg-type]


TAGS = _action("tags", ActionKind.ADD_TAGS, values=("Tier_Enterprise",))
DUE = _action("due", ActionKind.SET_FIELD, field="sla_due", value="2026-03-05T10:30:00+00:00")
PRIORITY = _action("prio", ActionKind.SET_PRIORITY, value="high")
NOTE = _action("note", ActionKind.ADD_NOTE, value="at risk", marker="m-7")


def _ticket(tags: list[str], due: str | None, priority: str = "normal") -> dict[str, object]:
    return {"id": 7, "tags": tags, "priority": priority, "custom_fields": [{"id": 901, "value": due}]}


def _keys(actions: list[Action]) -> set[str]:
    return {a.key for a in actions}


def test_a_ticket_unchanged_since_planning_cannot_have_the_note_and_its_missing_changes_are_sent() -> None:
    verdict = judge([TAGS, DUE, NOTE], _ticket(["vip"], None), PLANNED, FIELDS)
    assert _keys(verdict.send) == {"tags", "due", "note"}
    assert not verdict.already and not verdict.search


def test_a_ticket_showing_every_change_that_travelled_with_the_note_has_the_note() -> None:
    ticket = _ticket(["vip", "tier_enterprise"], "2026-03-05T10:30:00Z")
    verdict = judge([TAGS, DUE, NOTE], ticket, PLANNED + timedelta(seconds=40), FIELDS)
    assert _keys(verdict.already) == {"tags", "due", "note"}
    assert not verdict.send and not verdict.search


def test_a_ticket_missing_one_of_the_changes_leaves_the_note_to_the_comments() -> None:
    ticket = _ticket(["tier_enterprise"], "2026-03-05T11:00:00Z")  # the field moved on since
    verdict = judge([TAGS, DUE, NOTE], ticket, PLANNED + timedelta(seconds=40), FIELDS)
    assert _keys(verdict.already) == {"tags"}
    assert _keys(verdict.send) == {"due"}
    assert _keys(verdict.search) == {"note"}


def test_a_priority_an_agent_may_have_raised_is_no_evidence_that_the_note_landed() -> None:
    verdict = judge([PRIORITY, NOTE], _ticket([], None, "urgent"), PLANNED + timedelta(seconds=40), FIELDS)
    assert _keys(verdict.already) == {"prio"}  # raise only: urgent already covers high
    assert _keys(verdict.search) == {"note"}


def test_a_note_without_marker_cannot_be_checked_and_is_sent() -> None:
    bare = _action("bare", ActionKind.ADD_NOTE, value="at risk")
    verdict = judge([bare], _ticket([], None), PLANNED + timedelta(seconds=40), FIELDS)
    assert _keys(verdict.send) == {"bare"}
