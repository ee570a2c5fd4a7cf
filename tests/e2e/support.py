"""Shared machinery of the end-to-end tests.

- `zendesk_emulator()`: the Zendesk emulator on a free port with a simulated clock, its base
  account seeded, served behind a `Tap` that lets a test wait for the worker's requests.
- `write_mappings()`: the example mappings pointed at running emulators.
- `ForkServer` / `run_cli`: `python -m connector ...` as separate processes; the fork server's
  children skip Python's start-up, so a test can kill and restart the worker many times.
- Readers of what the helpdesk shows and of the store's outbox, for assertions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ruamel.yaml import YAML

from connector.emulation.base import EmulatorApp, EmulatorServer, FaultRule
from connector.store.repository import Store
from connector.store.tables import audit, outbox
from plugins.zendesk import build_emulator
from plugins.zendesk.emulator import SeedInfo, seed_account, seed_volume
from plugins.zendesk.emulator.app import ZendeskAPI
from plugins.zendesk.emulator.ratelimit import RateLimiter
from plugins.zendesk.emulator.seed import http_caller
from plugins.zendesk.emulator.store import Account
from plugins.zendesk.translate import markers_in

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MAPPINGS = ROOT / "mappings"
CONNECTION = "zendesk-main"


# ----------------------------------------------------------------------------- emulator


class Tap:
    """WSGI wrapper that records the path of every request as it arrives, so a test can wait until
    the worker has reached a given call (and kill it there)."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self._cond = threading.Condition()
        self._paths: list[str] = []
        self._in_flight = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        with self._cond:
            self._paths.append(f"{environ.get('REQUEST_METHOD', '')} {path}")
            self._in_flight += 1
            self._cond.notify_all()
        try:
            return list(self.app(environ, start_response))
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self._paths)

    def since(self, mark: int) -> list[str]:
        with self._cond:
            return self._paths[mark:]

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    def wait_for(self, mark: int, pattern: str, *, alive: Any, timeout: float = 60.0) -> bool:
        """Wait until a request matching `pattern` arrived after `mark`; False if `alive()` turns
        false first (the process finished) or `timeout` passes."""
        wanted = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(wanted.search(p) for p in self._paths[mark:]):
                    return True
                if not alive() or time.monotonic() > deadline:
                    return False
                self._cond.wait(0.02)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no request is being processed (a stalled write of a killed worker still lands)."""
        with self._cond:
            self._cond.wait_for(lambda: self._in_flight == 0, timeout)


@dataclass
class ZendeskSite:
    app: EmulatorApp
    server: EmulatorServer
    tap: Tap
    info: SeedInfo

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def account(self) -> Account:
        vendor = self.app.vendor
        assert isinstance(vendor, ZendeskAPI)
        return vendor.account

    @property
    def vendor(self) -> ZendeskAPI:
        vendor = self.app.vendor
        assert isinstance(vendor, ZendeskAPI)
        return vendor

    def set_clock(self, now: datetime) -> None:
        self.app.clock.set(now)

    def faults(self, *rules: Mapping[str, Any]) -> None:
        self.app.faults.set_rules(FaultRule.from_json(dict(rule)) for rule in rules)

    def unlimited(self) -> None:
        """Lift the per-minute budgets: on a clock that stands still every run of a test would draw
        from the same minute (rate limiting has its own contract tests)."""
        self.vendor.limits = RateLimiter(per_minute=10**9, incremental_per_minute=10**9)

    def connection(self) -> dict[str, Any]:
        """What `write_mappings` needs to point the Zendesk connection here."""
        groups = self.info.groups
        return {
            "url": self.url,
            "fields": dict(self.info.fields),
            "aliases": {
                "duty-managers": str(groups["Escalations"]),
                "tier-2": str(groups["Tier 2"]),
                "sla-watcher": str(self.info.agents[0]),
            },
        }


@contextmanager
def zendesk_emulator(start: datetime) -> Iterator[ZendeskSite]:
    """A simulated-clock Zendesk emulator at `start` on 127.0.0.1:<free port>, base account seeded."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty", None, 700, start)
    tap = Tap(app)
    server = EmulatorServer(tap)  # type: ignore[arg-type]
    server.start()
    try:
        info = seed_account(http_caller(app))
        yield ZendeskSite(app=app, server=server, tap=tap, info=info)
    finally:
        tap.wait_idle()
        server.stop()


@dataclass
class JiraSite:
    """A Jira Cloud / JSM emulator seeded with the demo site (`plugins.jira.seed_demo`)."""

    app: EmulatorApp
    server: EmulatorServer
    tap: Tap
    demo: Any  # plugins.jira.emulator.seed.DemoSite

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def jira(self) -> Any:
        from plugins.jira import emulator_of

        return emulator_of(self.app)

    def set_clock(self, now: datetime) -> None:
        self.app.clock.set(now)

    def faults(self, *rules: Mapping[str, Any]) -> None:
        self.app.faults.set_rules(FaultRule.from_json(dict(rule)) for rule in rules)

    def connection(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "fields": dict(self.demo.fields),
            "projects": [self.demo.project],
            "aliases": {"sla-watcher": next(iter(self.demo.agents.values()))},
        }


@contextmanager
def jira_emulator(start: datetime, issues: int) -> Iterator[JiraSite]:
    """A simulated-clock Jira emulator at `start` on 127.0.0.1:<free port> with `issues` demo
    issues, without rate limits (they have their own contract tests)."""
    from plugins.jira import build_emulator as build_jira
    from plugins.jira import seed_demo as seed_jira

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_jira("simulated", "empty", start=start)
    demo = seed_jira(app, issues=issues)
    tap = Tap(app)
    server = EmulatorServer(tap)  # type: ignore[arg-type]
    server.start()
    site = JiraSite(app=app, server=server, tap=tap, demo=demo)
    site.jira.rate_limits = None
    try:
        yield site
    finally:
        tap.wait_idle()
        server.stop()


def jira_note_markers(site: JiraSite) -> Counter[tuple[str, str]]:
    """How often each (issue, note marker) appears in the issues' comments."""
    found: Counter[tuple[str, str]] = Counter()
    for issue in site.jira.site.issues.values():
        for comment in issue.comments:
            value = comment.properties.get("tierdesk")
            if isinstance(value, Mapping) and value.get("marker"):
                found[(issue.key, str(value["marker"]))] += 1
    return found


def jira_issue_state(site: JiraSite) -> dict[str, tuple[Any, ...]]:
    """What agents see of each issue that tierdesk may change: labels, priority, assignee,
    watchers and the fields it writes."""
    written = {site.demo.fields[name] for name in ("tier", "sla_due", "sla_state")}
    return {
        issue.key: (
            tuple(sorted(issue.labels)),
            issue.priority_id,
            issue.assignee,
            tuple(sorted(issue.watchers)),
            tuple(
                sorted((k, json.dumps(v, sort_keys=True)) for k, v in issue.custom.items() if k in written)
            ),
        )
        for issue in site.jira.site.issues.values()
    }


def customer_of(site: ZendeskSite, organization: str = "Acme Corp", email: str = "ann@acme.example") -> int:
    """A customer of `organization` (Acme Corp is Enterprise in the example mappings), made
    through the Users API; its user id."""
    call = http_caller(site.app)
    user = {
        "name": email.split("@", maxsplit=1)[0].title(),
        "email": email,
        "organization_id": site.info.organizations[organization],
    }
    return int(call("POST", "/api/v2/users.json", {"user": user})["user"]["id"])


def open_ticket(
    site: ZendeskSite, requester: int, subject: str = "Checkout is down", body: str = "Nobody can pay."
) -> int:
    """A ticket the customer opens now (Tickets API, public opening comment by the customer); its id.
    "Checkout is down" is critical severity in the example triage rules."""
    call = http_caller(site.app)
    ticket = {
        "subject": subject,
        "requester_id": requester,
        "comment": {"body": body, "author_id": requester},
    }
    return int(call("POST", "/api/v2/tickets.json", {"ticket": ticket})["ticket"]["id"])


AGENT_TAG = "agent_keep"


def seed_tickets(site: ZendeskSite, count: int, at: datetime, *, days: int = 1) -> None:
    """`count` tickets with 1-4 comments over the `days` before `at` (the Ticket Import API), each
    with an agent's tag `AGENT_TAG`. Per-minute rate limits are lifted (see `unlimited`)."""
    site.unlimited()
    site.set_clock(at)
    seed_volume(site.app, count, clock=site.app.clock, info=site.info, days=days)
    now = int(site.app.clock.now().timestamp())
    agent = site.info.agents[0]
    for ticket_id in site.info.ticket_ids:
        site.account.update_ticket(ticket_id, {"additional_tags": [AGENT_TAG]}, agent, now)


# ----------------------------------------------------------------------------- mappings


def write_mappings(
    target: Path,
    connections: Mapping[str, Mapping[str, Any]],
    *,
    options: Mapping[str, Mapping[str, str]] | None = None,
    drop_triage: Iterable[str] = (),
    source: Path = EXAMPLE_MAPPINGS,
) -> Path:
    """Copy the example mappings to `target`, keeping only the connections whose kind is a key of
    `connections` and updating them with its values (URL, seeded field ids, aliases).
    Customer rules naming a dropped connection go too; `drop_triage` removes triage rules by
    name; `options` sets connection options per kind."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    yaml = YAML()
    path = target / "connections.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    kept = []
    for connection in doc["connections"]:
        kind = connection["kind"]
        if kind not in connections:
            continue
        for key, value in connections[kind].items():
            if isinstance(value, Mapping) and key in connection:
                connection[key].update(value)
            else:
                connection[key] = value
        if options and kind in options:
            connection["options"] = dict(options[kind])
        kept.append(connection)
    names = {c["name"] for c in kept}
    doc["connections"] = kept
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)

    customers_path = target / "customers.yaml"
    customers = yaml.load(customers_path.read_text(encoding="utf-8"))
    customers["customers"]["rules"] = [
        rule
        for rule in customers["customers"]["rules"]
        if rule.get("when", {}).get("connection", next(iter(names))) in names
    ]
    with customers_path.open("w", encoding="utf-8") as out:
        yaml.dump(customers, out)

    accounts_path = target / "accounts.yaml"
    if accounts_path.exists():  # account links to a dropped connection go too
        accounts = yaml.load(accounts_path.read_text(encoding="utf-8"))
        for account in accounts["accounts"].values():
            account["organizations"] = [o for o in account["organizations"] if o["connection"] in names]
        with accounts_path.open("w", encoding="utf-8") as out:
            yaml.dump(accounts, out)

    dropped = set(drop_triage)
    if dropped:
        triage_path = target / "triage.yaml"
        triage = yaml.load(triage_path.read_text(encoding="utf-8"))
        triage["triage"]["rules"] = [r for r in triage["triage"]["rules"] if r["name"] not in dropped]
        with triage_path.open("w", encoding="utf-8") as out:
            yaml.dump(triage, out)
    return target


# ----------------------------------------------------------------------------- the worker process


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    args: list[str],
    cwd: Path,
    timeout: float = 120.0,
    *,
    columns: int | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m connector ARGS` as a fresh process; its output captured (`columns` wide), with
    `env` added to the environment."""
    env = {**worker_env(), **(env or {})}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# A parent that has imported the CLI's whole dependency tree and, per request, forks a child that
# runs `python -m connector ARGS` (the same `runpy` path) with its output in a log file. Each run
# is its own process, killed with SIGKILL like any other, but starts in milliseconds instead of
# paying Python's imports again.
_FORK_SERVER = """
import json, os, runpy, sys, traceback
import connector.bootstrap, connector.cli, connector.scheduler, connector.store.migrate
import plugins.jira, plugins.zendesk

def child(args, log):
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    sys.argv = ["tierdesk", *args]
    code = 0
    try:
        runpy.run_module("connector", run_name="__main__", alter_sys=False)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "run":
        pid = os.fork()
        if pid == 0:
            child(request["args"], request["log"])
        answer = {"pid": pid}
    else:
        _, status = os.waitpid(request["pid"], 0)
        answer = {"code": os.waitstatus_to_exitcode(status)}
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()
"""


class ForkServer:
    """Starts worker runs as child processes of one pre-imported parent (see `_FORK_SERVER`)."""

    def __init__(self, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _FORK_SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=cwd,
            env={**worker_env(), **(env or {})},
            text=True,
        )
        self._lock = threading.Lock()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def run(self, args: list[str], log: Path) -> WorkerRun:
        return WorkerRun(self, int(self._ask({"op": "run", "args": args, "log": str(log)})["pid"]))

    def reap(self, pid: int) -> int:
        return int(self._ask({"op": "wait", "pid": pid})["code"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class WorkerRun:
    """One running `python -m connector ...` child of a `ForkServer`."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid
        self.code: int | None = None

    def alive(self) -> bool:
        """Still running (an exited child stays a zombie until reaped; Linux /proc)."""
        if self.code is not None:
            return False
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")

    def kill(self) -> bool:
        """SIGKILL; True if the run was still going."""
        running = self.alive()
        if running:
            os.kill(self.pid, signal.SIGKILL)
        self.wait()
        return running

    def wait(self, timeout: float = 120.0) -> int:
        if self.code is None:
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            if self.alive():
                os.kill(self.pid, signal.SIGKILL)
            self.code = self.server.reap(self.pid)
        return self.code


# ----------------------------------------------------------------------------- reading results


def note_markers(account: Account) -> Counter[tuple[int, str]]:
    """How often each (ticket, note marker) appears in the helpdesk's comments."""
    found: Counter[tuple[int, str]] = Counter()
    with account.lock:
        for ticket in account.tickets.values():
            for comment in ticket.comments:
                for marker in markers_in(comment.body):
                    found[(ticket.id, marker)] += 1
    return found


def ticket_state(account: Account, field_ids: Mapping[str, str]) -> dict[int, tuple[Any, ...]]:
    """What agents see of each ticket that tierdesk may change: tags, priority, group, followers and
    the fields it writes."""
    names = {int(v): k for k, v in field_ids.items() if k in ("tier", "sla_due", "sla_state")}
    with account.lock:
        return {
            t.id: (
                tuple(sorted(t.tags)),
                t.priority,
                t.group_id,
                tuple(sorted(t.follower_ids)),
                tuple(sorted((names[fid], value) for fid, value in t.custom_fields.items() if fid in names)),
            )
            for t in account.tickets.values()
        }


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    connection: str
    ticket_id: str
    kind: str
    status: str
    marker: str | None
    escalation: bool  # an escalation step (it has a threshold instant), not a state diff
    reason: str | None = None  # why it failed, was skipped or withdrawn


def outbox_entries(db_url: str) -> list[OutboxEntry]:
    store = Store.open(db_url)
    try:
        with store.reading() as db:
            rows = db.execute(
                sa.select(
                    outbox.c.key,
                    outbox.c.connection,
                    outbox.c.ticket_id,
                    outbox.c.kind,
                    outbox.c.status,
                    outbox.c.payload,
                    outbox.c.last_error,
                )
            ).all()
    finally:
        store.close()
    return [
        OutboxEntry(
            key=row.key,
            connection=row.connection,
            ticket_id=row.ticket_id,
            kind=row.kind,
            status=row.status,
            marker=row.payload.get("marker"),
            escalation=bool(row.payload.get("at")),
            reason=row.last_error,
        )
        for row in rows
    ]


def audit_messages(db_url: str) -> Counter[tuple[str, str]]:
    """(outcome, message) of every recorded push attempt, counted."""
    store = Store.open(db_url)
    try:
        with store.reading() as db:
            rows = db.execute(sa.select(audit.c.outcome, audit.c.message)).all()
    finally:
        store.close()
    return Counter((row.outcome, row.message or "") for row in rows)
