"""Jira sync benchmark: 10,000 issues through the real adapter against the emulator over HTTP.

The emulator runs in a child process (so memory figures are the adapter's alone), seeded through its
own API: 10,000 JSM issues in organizations, a fifth of them with an agent reply, a customer reply
and a status change. Reported:
  - full pull: API calls against the minimum, wall time, issues/s;
  - incremental pull after 500 changes, and the pure translation throughput (no HTTP);
  - push of ~31,500 actions (labels, SLA due, entity property on every issue; notes on 10%,
    priority raises on 5%): API calls against the minimum, wall time, actions/s;
  - peak traced Python memory of the adapter for a full pull and a push, in a second, traced pass
    (tracing slows Python down, so it is kept out of the timings).

Run: `.venv/bin/python bench/jira_sync.py [--issues N]`
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from connector.domain.policy import ActionKind, ConnectionConfig
from connector.domain.results import Action
from connector.emulation.base import EmulatorServer
from plugins.jira import build_emulator, emulator_of
from plugins.jira.client import JiraHelpdesk, RetryPolicy
from plugins.jira.emulator import InProcessTransport, create_field, create_issues, create_project
from plugins.jira.emulator.seed import DATETIME_FIELD, SEED_TOKEN, adf
from plugins.jira.translate import IssueContext, issue_to_record

PAGE = 100


def serve(issues: int, conn: Connection) -> None:
    """Child process: seed an emulator through its API, serve it, answer control messages."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty")
    jira = emulator_of(app)
    t = InProcessTransport(app, jira.admin.email, SEED_TOKEN)
    started = time.perf_counter()
    create_project(t, "SUP", "Support")
    due = create_field(t, "SLA due", DATETIME_FIELD)
    orgs = [
        t.call("POST", "/rest/servicedeskapi/organization", {"name": f"Customer {n}"})["id"]
        for n in range(20)
    ]
    t.call("POST", "/rest/api/3/user", {"emailAddress": "ada@tierdesk.example", "displayName": "Ada Agent"})
    t.call("POST", "/rest/servicedeskapi/customer", {"email": "alex@globex.example", "displayName": "Alex"})
    for start in range(0, issues, 1000):
        app.clock.advance(60)
        count = min(1000, issues - start)
        create_issues(
            t,
            "SUP",
            count,
            extra_fields=lambda n: {
                "labels": ["vip"] if n % 7 == 0 else [],
                "customfield_10002": [int(orgs[n % len(orgs)])],
                "description": adf("Something is broken."),
            },
            as_email="alex@globex.example",
        )
    for issue_id in list(jira.site.issues)[::5]:
        app.clock.advance(1)
        t.call(
            "POST",
            f"/rest/api/3/issue/{issue_id}/comment",
            {"body": adf("On it")},
            as_email="ada@tierdesk.example",
        )
        t.call("POST", f"/rest/api/3/issue/{issue_id}/transitions", {"transition": {"id": "11"}})
        t.call(
            "POST",
            f"/rest/api/3/issue/{issue_id}/comment",
            {"body": adf("Thanks")},
            as_email="alex@globex.example",
        )
    app.clock.advance(120)
    app.log.clear()
    seeded = time.perf_counter() - started
    server = EmulatorServer(app, port=0).start()
    conn.send({"url": server.url, "due": due, "seed_seconds": seeded})
    own_calls = 0
    while True:
        message = conn.recv()
        if message == "stop":
            server.stop()
            return
        if message == "touch":  # 500 changes while the worker sleeps
            app.clock.advance(300)
            for issue_id in list(jira.site.issues)[1::20]:
                t.call("PUT", f"/rest/api/3/issue/{issue_id}", {"update": {"labels": [{"add": "changed"}]}})
            app.clock.advance(60)
            own_calls += len(list(jira.site.issues)[1::20])
            conn.send(len(list(jira.site.issues)[1::20]))
        if message == "requests":
            conn.send(len(app.log.records()) - own_calls)


def measure(
    label: str, helpdesk: JiraHelpdesk, run: Callable[[], int], *, trace: bool = False
) -> dict[str, Any]:
    """Calls and wall time of `run`; with `trace`, the peak of Python allocations instead (tracing
    slows Python down, so timings come from a separate untraced pass)."""
    calls_before = helpdesk.api_calls
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    items = run()
    elapsed = time.perf_counter() - started
    peak = 0
    if trace:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "step": label,
        "items": items,
        "calls": helpdesk.api_calls - calls_before,
        "seconds": round(elapsed, 2),
        "per_second": round(items / elapsed) if elapsed else None,
        "peak_mib": round(peak / 2**20, 1),
    }


def plan(ids: list[str], *, notes: bool) -> list[Action]:
    """Labels, SLA due and the panel property on every issue; with `notes`, a note on every 10th
    and a priority raise on every 20th issue."""
    due = "2026-03-02T17:00:00+00:00"
    panel = json.dumps({"tier": "standard", "due": due})
    actions: list[Action] = []
    for n, issue_id in enumerate(ids):
        actions += [
            Action(f"{issue_id}:t", "jira", issue_id, ActionKind.ADD_TAGS, values=("tier_standard", "sev_3")),
            Action(f"{issue_id}:d", "jira", issue_id, ActionKind.SET_FIELD, field="sla_due", value=due),
            Action(f"{issue_id}:p", "jira", issue_id, ActionKind.SET_PROPERTY, field="tierdesk", value=panel),
        ]
        if notes and n % 10 == 0:
            actions.append(
                Action(
                    f"{issue_id}:n",
                    "jira",
                    issue_id,
                    ActionKind.ADD_NOTE,
                    value="Due in 30 min",
                    marker=f"m{n}",
                )
            )
        if notes and n % 20 == 0:
            actions.append(Action(f"{issue_id}:r", "jira", issue_id, ActionKind.SET_PRIORITY, value="high"))
    return actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("tierdesk").setLevel(logging.ERROR)

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=serve, args=(args.issues, child), daemon=True
    )
    process.start()
    info = parent.recv()
    print(f"seeded {args.issues} issues through the emulator API in {info['seed_seconds']:.1f} s")

    config = ConnectionConfig(
        name="jira", kind="jira", url=info["url"], projects=("SUP",), fields={"sla_due": info["due"]}
    )
    helpdesk = JiraHelpdesk.from_config(config, None, retry=RetryPolicy(request_timeout=60.0))
    ids: list[str] = []
    cursor: dict[str, str | None] = {"value": None}

    def full_pull(keep: bool) -> Callable[[], int]:
        def run() -> int:
            count = 0
            for page in helpdesk.pull(None):
                count += len(page.records)
                if keep:
                    ids.extend(r.ticket.id for r in page.records)
                    cursor["value"] = page.cursor
            return count

        return run

    touched = {"count": 0}

    def incremental() -> int:
        parent.send("touch")
        touched["count"] = parent.recv()
        return sum(len(page.records) for page in helpdesk.pull(cursor["value"]))

    timing = [measure("full pull", helpdesk, full_pull(keep=True))]
    timing[-1]["minimum"] = 4 + math.ceil(args.issues / PAGE)
    timing.append(measure("incremental pull", helpdesk, incremental))
    timing[-1]["minimum"] = math.ceil(touched["count"] / PAGE)
    actions = plan(ids, notes=True)
    outcomes: Counter[str] = Counter()

    def push(batch: list[Action]) -> Callable[[], int]:
        def run() -> int:
            outcomes.update(str(r.outcome) for r in helpdesk.push(batch))
            return len(batch)

        return run

    timing.append(measure("push", helpdesk, push(actions)))
    timed_outcomes = dict(outcomes)
    notes = sum(1 for a in actions if a.kind == ActionKind.ADD_NOTE)
    priorities = sum(1 for a in actions if a.kind == ActionKind.SET_PRIORITY)
    timing[-1]["minimum"] = len(ids) + notes

    memory = [
        measure("full pull", helpdesk, full_pull(keep=False), trace=True),
        measure("push (idempotent)", helpdesk, push(plan(ids, notes=False)), trace=True),
    ]

    raw_page = helpdesk._search(helpdesk._jql(0), None, helpdesk._search_fields(helpdesk._metadata()))
    context = IssueContext(connection="jira", browse_url=info["url"], organizations_field="customfield_10002")
    issues = raw_page["issues"]
    started = time.perf_counter()
    rounds = max(1, 20_000 // len(issues))
    for _ in range(rounds):
        for issue in issues:
            issue_to_record(issue, context)
    translate_rate = round(rounds * len(issues) / (time.perf_counter() - started))

    parent.send("requests")
    served = parent.recv()
    parent.send("stop")
    process.join(timeout=10)

    print(f"\n{'step':<20}{'items':>8}{'calls':>8}{'minimum':>9}{'seconds':>9}{'items/s':>9}")
    for row in timing:
        print(
            f"{row['step']:<20}{row['items']:>8}{row['calls']:>8}{row['minimum']:>9}{row['seconds']:>9}"
            f"{row['per_second']:>9}"
        )
    print(
        "\npeak traced memory (separate pass): "
        + ", ".join(f"{r['step']} {r['peak_mib']} MiB" for r in memory)
    )
    print(
        f"push outcomes: {timed_outcomes}; calls above the minimum: {priorities} priority reads (raise-only)"
    )
    print(f"pure translation (no HTTP): {translate_rate} issues/s")
    print(
        f"requests the emulator served to the adapter: {served}; counted by the adapter: {helpdesk.api_calls}"
    )


if __name__ == "__main__":
    main()
