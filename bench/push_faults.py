"""Push under faults: API calls made against calls needed, duplicates and lost actions, both helpdesks.

Each run seeds an in-process emulator (simulated clock, real zenpy / jira clients over HTTP), plans
a write-back for every ticket (tags added and removed, the SLA due field, an internal note; on Jira
also a priority raise) and drives the push the way the sync does: up to 100 queued actions per
push, RETRY kept for the next cycle (30 s later), uncertain notes flagged, and on CONFLICT the
tickets re-read with `fetch` (as `Sync._replan` does) and planned again against what they show.

Calls needed: the same work on a fresh emulator without faults. Calls made: every request the
emulator saw, injected failures included (each of those costs one more call at the least, so
"beyond the faults" = made - injected is printed too). Duplicates: notes posted more than once;
lost: planned changes the ticket does not show once the queue is empty (or after 40 cycles).

Faults (seeded; every API path): 409 on writes, 429 with and without Retry-After, 500, and
stalled responses the client gives up on but the emulator then applies.

    .venv/bin/python bench/push_faults.py [--tickets 60] [--issues 40] [--seeds 1,2,3] [--rate 0.30]

Figures are call counts (deterministic for a seed); CPU time of the driving process is printed for
reference, wall time is not (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
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
def zendesk_run(tickets: int, seed: int | None, rate: float) -> tuple[Figures, int]:
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

        helpdesk = h.connect(retry=replace(FAST_RETRY, request_timeout=0.3))
        helpdesk.me()
        h.app.log.clear()
        if seed is not None:
            h.app.faults = Faults(seed)
            h.app.faults.set_rules(fault_rules(rate, r"^/api/v2/", stall=0.6))
        cpu = time.process_time()
        cycles, reread = drive(
            h.app, helpdesk, planned, still_needed, basis_of, h.advance, lambda: time.sleep(0.7)
        )
        cpu_ms = int((time.process_time() - cpu) * 1000)
        h.app.faults.clear()
        time.sleep(0.7)  # stalled writes finish
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
        return figures, cpu_ms


# ---------------------------------------------------------------------------------------- Jira
def jira_run(issues: int, seed: int | None, rate: float) -> tuple[Figures, int]:
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

        helpdesk = h.connect(retry=replace(FAST_RETRY, request_timeout=0.2), fields=fields)
        helpdesk.fetch([created[0]["id"]])  # start-up reads (metadata) out of the way
        h.app.log.clear()
        if seed is not None:
            h.app.faults = Faults(seed)
            h.app.faults.set_rules(fault_rules(rate, r"^/rest/", stall=0.4))
        cpu = time.process_time()
        cycles, reread = drive(
            h.app, helpdesk, planned, still_needed, lambda a: None, h.advance, h.inflight.wait_idle
        )
        cpu_ms = int((time.process_time() - cpu) * 1000)
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
        return figures, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--issues", type=int, default=40)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--rate", type=float, default=0.30)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.rate:.0%} injected faults, seeds {seeds}; counts summed over the seeds")
    print(
        f"{'helpdesk':<9} {'seed':>4} {'made':>6} {'needed':>6} {'ratio':>6} {'injected':>8} "
        f"{'beyond':>7} {'conflict reads':>14} {'cycles':>6} {'dup':>4} {'lost':>4} {'cpu ms':>7}"
    )
    for name, run, size in (("zendesk", zendesk_run, args.tickets), ("jira", jira_run, args.issues)):
        baseline, _ = run(size, None, 0.0)
        total = Figures()
        for seed in seeds:
            figures, cpu_ms = run(size, seed, args.rate)
            figures.needed = baseline.made
            total.add(figures)
            _row(name, str(seed), figures, cpu_ms)
        _row(name, "all", total, None)
        if baseline.lost or baseline.duplicates:
            print(f"  (the fault-free run itself lost {baseline.lost}, duplicated {baseline.duplicates})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _row(name: str, seed: str, f: Figures, cpu_ms: int | None) -> None:
    ratio = f.made / f.needed if f.needed else float("nan")
    beyond = (f.made - f.injected) / f.needed if f.needed else float("nan")
    print(
        f"{name:<9} {seed:>4} {f.made:>6} {f.needed:>6} {ratio:>6.2f} {f.injected:>8} {beyond:>7.2f} "
        f"{f.reads_after_conflict:>14} {f.cycles:>6} {f.duplicates:>4} {f.lost:>4} "
        f"{'' if cpu_ms is None else cpu_ms:>7}"
    )


if __name__ == "__main__":
    main()
