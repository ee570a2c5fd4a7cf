"""Push drill: plan a write-back for every ticket of an emulator and push it under seeded faults
the way the sync's outbox does, then count calls, duplicated notes and lost changes.

Shared by `bench/push_faults.py` (figures) and `tests/contract/test_push_call_budget.py` (bound).
Each run seeds an in-process emulator (simulated clock, real zenpy / jira clients over HTTP),
pushes up to 100 queued actions per cycle, keeps RETRY for the next cycle (30 s later) with the
uncertain flag, and on CONFLICT re-reads the tickets with `fetch` (as `FreshViews.replan` does) and
plans again against what they show. Between cycles it waits until the emulator has processed
every stalled request (the client gave up on them; the emulator still applies them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from connector.domain.policy import ActionKind
from connector.domain.results import Action
from connector.emulation.base import EmulatorApp, FaultRule, Faults
from connector.ports import Outcome

DONE = (Outcome.APPLIED, Outcome.ALREADY_APPLIED)
CYCLES = 40
PUSH_BATCH = 100
# A stalled response outlasts the client's timeout (the client gives up, the emulator still applies the
# write); an ordinary answer has a whole second, so a loaded machine does not turn it into a timeout
# and the call counts stay those of the seeded faults.
STALL_TIMEOUT = 1.0
STALL = 2.0


@dataclass
class Figures:
    made: int = 0
    needed: int = 0
    injected: int = 0
    duplicates: int = 0
    lost: int = 0
    cycles: int = 0
    reads_after_conflict: int = 0

    def add(self, other: Figures) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def fault_rules(rate: float, prefix: str, stall: float) -> list[FaultRule]:
    """About `rate` of all calls fail: the share is spread over the kinds of failure."""
    share = rate / 5
    return [
        FaultRule(path=prefix, method="PUT", status=409, rate=share),
        FaultRule(path=prefix, status=429, retry_after=2, rate=share),
        FaultRule(path=prefix, status=429, rate=share),  # no Retry-After
        FaultRule(path=prefix, status=500, rate=share),
        FaultRule(path=prefix, timeout_s=stall, rate=share),
    ]


def drive(
    app: EmulatorApp,
    helpdesk: Any,
    planned: list[Action],
    still_needed: Any,
    basis_of: Any,
    advance: Any,
    settle: Any = lambda: None,
) -> tuple[int, int]:
    """Push `planned` cycle after cycle as the sync's outbox does; returns (cycles, calls spent
    re-reading conflicted tickets)."""
    outstanding = {a.key: a for a in planned}
    uncertain: set[str] = set()
    cycles = reread = 0
    while outstanding and cycles < CYCLES:
        cycles += 1
        batch = list(outstanding.values())[:PUSH_BATCH]
        results = helpdesk.push(batch, frozenset(uncertain))
        conflicted: set[str] = set()
        for result in results:
            action = outstanding[result.key]
            if result.outcome in DONE or result.outcome == Outcome.FAILED:
                del outstanding[result.key]
                uncertain.discard(result.key)
            elif result.outcome == Outcome.RETRY and result.uncertain:
                uncertain.add(result.key)
            elif result.outcome == Outcome.CONFLICT:
                conflicted.add(action.ticket_id)
        if conflicted:
            before = helpdesk.api_calls
            settle()
            fresh = {r.ticket.id: r.ticket.updated_at for r in helpdesk.fetch(sorted(conflicted))}
            reread += helpdesk.api_calls - before
            for key, action in list(outstanding.items()):
                if action.ticket_id not in conflicted:
                    continue
                if still_needed(action):
                    outstanding[key] = replace(action, basis=fresh.get(action.ticket_id, basis_of(action)))
                else:
                    del outstanding[key]
        advance(30)
        settle()
    return cycles, reread


# ---------------------------------------------------------------------------------------- Zendesk
def zendesk_run(tickets: int, seed: int | None, rate: float) -> Figures:
    from plugins.zendesk.emulator import seed_volume
    from plugins.zendesk.testing import FAST_RETRY, running_emulator
    from plugins.zendesk.translate import marker_line

    with running_emulator() as h:
        seed_volume(h.app, tickets, clock=h.app.clock, info=h.info)
        now = int(h.app.clock.now().timestamp())
        for ticket in h.account.tickets.values():
            h.account.update_ticket(
                ticket.id, {"additional_tags": ["agent_keep", "sla_warning"]}, h.info.agents[0], now
            )
        h.advance(120)
        sla_due = int(h.info.fields["sla_due"])

        def basis_of(action: Action) -> datetime:
            return datetime.fromtimestamp(h.account.tickets[int(action.ticket_id)].updated_at, UTC)

        ids = sorted(h.account.tickets)[:tickets]
        planned: list[Action] = []
        for tid in map(str, ids):
            common: dict[str, Any] = {"connection": "zd", "ticket_id": tid}
            common["basis"] = basis_of(Action(key="", kind=ActionKind.ADD_TAGS, **common))
            planned += [
                Action(
                    key=f"{tid}:tags",
                    kind=ActionKind.ADD_TAGS,
                    values=("tier_enterprise", "sev_high"),
                    **common,
                ),
                Action(key=f"{tid}:untag", kind=ActionKind.REMOVE_TAGS, values=("sla_warning",), **common),
                Action(
                    key=f"{tid}:due",
                    kind=ActionKind.SET_FIELD,
                    field="sla_due",
                    value=f"2026-03-05T1{int(tid) % 10}:30:00+00:00",
                    **common,
                ),
                Action(
                    key=f"{tid}:note",
                    kind=ActionKind.ADD_NOTE,
                    value=f"First response at risk on #{tid}",
                    marker=f"m-{tid}",
                    **common,
                ),
            ]

        def still_needed(action: Action) -> bool:
            ticket = h.account.tickets[int(action.ticket_id)]
            if action.kind == ActionKind.ADD_TAGS:
                return not set(action.values) <= set(ticket.tags)
            if action.kind == ActionKind.REMOVE_TAGS:
                return bool(set(action.values) & set(ticket.tags))
            if action.kind == ActionKind.SET_FIELD:
                return ticket.custom_fields.get(sla_due) != str(action.value).replace("+00:00", "Z")
            return True

        helpdesk = h.connect(retry=replace(FAST_RETRY, request_timeout=STALL_TIMEOUT))
        helpdesk.me()
        h.app.log.clear()
        if seed is not None:
            h.app.faults = Faults(seed)
            h.app.faults.set_rules(fault_rules(rate, r"^/api/v2/", stall=STALL))
        cycles, reread = drive(
            h.app, helpdesk, planned, still_needed, basis_of, h.advance, h.inflight.wait_idle
        )
        h.app.faults.clear()
        h.inflight.wait_idle()
        records = h.app.log.records()
        figures = Figures(made=len(records), injected=sum(r.fault for r in records))
        figures.cycles, figures.reads_after_conflict = cycles, reread
        for tid in ids:
            ticket = h.account.tickets[tid]
            notes = sum(marker_line(f"m-{tid}") in c.body for c in ticket.comments)
            figures.duplicates += max(0, notes - 1)
            figures.lost += (
                (notes == 0)
                + (not {"tier_enterprise", "sev_high"} <= set(ticket.tags))
                + ("sla_warning" in ticket.tags)
                + (ticket.custom_fields.get(sla_due) != f"2026-03-05T1{tid % 10}:30:00Z")
            )
        return figures


# ---------------------------------------------------------------------------------------- Jira
def jira_run(issues: int, seed: int | None, rate: float) -> Figures:
    from plugins.jira.emulator import create_field, create_issues, create_project
    from plugins.jira.emulator.seed import DATETIME_FIELD
    from plugins.jira.testing import FAST_RETRY, running_emulator

    with running_emulator() as h:
        create_project(h.transport, "SUP", "Support")
        fields = {"sla_due": create_field(h.transport, "SLA due", DATETIME_FIELD)}
        created = create_issues(
            h.transport,
            "SUP",
            issues,
            extra_fields=lambda n: {"labels": ["agent_label", "sla_warning"], "priority": {"name": "Low"}},
        )
        planned: list[Action] = []
        for issue in created:
            i = issue["id"]
            common: dict[str, Any] = {"connection": "jira", "ticket_id": i}
            planned += [
                Action(
                    key=f"{i}:tags", kind=ActionKind.ADD_TAGS, values=("tier_enterprise", "sev_1"), **common
                ),
                Action(key=f"{i}:untag", kind=ActionKind.REMOVE_TAGS, values=("sla_warning",), **common),
                Action(
                    key=f"{i}:due",
                    kind=ActionKind.SET_FIELD,
                    field="sla_due",
                    value="2026-03-02T17:30:00+00:00",
                    **common,
                ),
                Action(key=f"{i}:prio", kind=ActionKind.SET_PRIORITY, value="high", **common),
                Action(
                    key=f"{i}:note",
                    kind=ActionKind.ADD_NOTE,
                    value=f"First response due soon on {issue['key']}",
                    marker=f"td-{issue['key']}",
                    **common,
                ),
            ]

        def still_needed(action: Action) -> bool:
            stored = h.jira.site.issues[int(action.ticket_id)]
            if action.kind == ActionKind.ADD_TAGS:
                return not set(action.values) <= set(stored.labels)
            if action.kind == ActionKind.REMOVE_TAGS:
                return bool(set(action.values) & set(stored.labels))
            return True

        helpdesk = h.connect(retry=replace(FAST_RETRY, request_timeout=STALL_TIMEOUT), fields=fields)
        helpdesk.fetch([created[0]["id"]])  # start-up reads (metadata) out of the way
        h.app.log.clear()
        if seed is not None:
            h.app.faults = Faults(seed)
            h.app.faults.set_rules(fault_rules(rate, r"^/rest/", stall=STALL))
        cycles, reread = drive(
            h.app, helpdesk, planned, still_needed, lambda a: None, h.advance, h.inflight.wait_idle
        )
        h.app.faults.clear()
        h.inflight.wait_idle()
        records = h.app.log.records()
        figures = Figures(made=len(records), injected=sum(r.fault for r in records))
        figures.cycles, figures.reads_after_conflict = cycles, reread
        for issue in created:
            stored = h.jira.site.issues[int(issue["id"])]
            markers = Counter(c.properties.get("tierdesk", {}).get("marker") for c in stored.comments)
            notes = markers[f"td-{issue['key']}"]
            figures.duplicates += max(0, notes - 1)
            figures.lost += (
                (notes == 0)
                + (sorted(stored.labels) != ["agent_label", "sev_1", "tier_enterprise"])
                + (stored.priority_id != "2")
                + (stored.custom.get(fields["sla_due"]) != 1772472600000)
            )
        return figures
