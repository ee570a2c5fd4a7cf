"""The demo day: emulators + seed, the worker on a scaled clock, a live view, a summary."""

from __future__ import annotations

import random
import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from ruamel.yaml import YAML

from connector.bootstrap import build_app
from connector.clock import ScaledClock
from connector.collector import settle_for_sync
from connector.demo.activity import JiraActivity, ZendeskActivity
from connector.demo.view import Dashboard, snapshot
from connector.emulation import EmulatorApp, EmulatorServer
from connector.registry import plugin
from connector.scheduler import Worker

BERLIN = ZoneInfo("Europe/Berlin")


def demo_start(now: datetime) -> datetime:
    """08:00 Berlin on the next weekday after `now` (the day the demo plays)."""
    day = now.astimezone(BERLIN).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=BERLIN).astimezone(UTC)


@dataclass
class DemoEnvironment:
    start: datetime
    clock: ScaledClock
    zendesk: EmulatorServer
    jira: EmulatorServer
    mappings: Path
    db_url: str
    zendesk_activity: ZendeskActivity
    jira_activity: JiraActivity
    servers: list[EmulatorServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def _point_mappings_at(source: Path, target: Path, urls: dict[str, str]) -> None:
    """Copy the example mappings and point each connection at the running emulator of its kind.
    Field ids, projects and aliases stay as shipped: they are the demo seeds' ids."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    yaml = YAML()
    path = target / "connections.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    for connection in doc["connections"]:
        if connection["kind"] in urls:
            connection["url"] = urls[connection["kind"]]
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


def prepare(out: Path, speed: float, mappings: Path, now: datetime | None = None) -> DemoEnvironment:
    start = demo_start(now or datetime.now(UTC))
    zendesk = plugin("zendesk")
    jira = plugin("jira")

    zendesk_app: EmulatorApp = zendesk.build_emulator(clock_mode="simulated", seed="empty", start=start)
    zendesk_server = EmulatorServer(zendesk_app).start()
    zendesk_info = zendesk.seed_demo(zendesk_app, zendesk_app.clock)

    jira_app: EmulatorApp = jira.build_emulator(clock_mode="simulated", seed="empty", start=start)
    jira_server = EmulatorServer(jira_app).start()
    site = jira.seed_demo(jira_app)

    out.mkdir(parents=True, exist_ok=True)
    _point_mappings_at(mappings, out / "mappings", {"zendesk": zendesk_server.url, "jira": jira_server.url})
    db_path = out / "tierdesk.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)

    clock = ScaledClock(start, speed)
    zendesk_app.clock.follow(clock.now)
    jira_app.clock.follow(clock.now)
    rng = random.Random(11)
    return DemoEnvironment(
        start=start,
        clock=clock,
        zendesk=zendesk_server,
        jira=jira_server,
        mappings=out / "mappings",
        db_url=f"sqlite:///{db_path}",
        zendesk_activity=ZendeskActivity(
            zendesk_server.url,
            zendesk_info.agents,
            zendesk_info.customers,
            list(zendesk_info.ticket_ids),
            rng,
        ),
        jira_activity=JiraActivity(
            jira_server.url, site.project, list(site.customers), list(site.agents), list(site.issues), rng
        ),
        servers=[zendesk_server, jira_server],
    )


def run_demo(
    console: Console,
    *,
    out: Path = Path("out/demo"),
    mappings: Path = Path("mappings"),
    hours: float = 9.0,
    speed: float = 270.0,
) -> int:
    console.print(f"[bold]tierdesk demo[/bold]: seeding the Zendesk and Jira emulators ({out})")
    env = prepare(out, speed, mappings)
    app = build_app(env.mappings, env.db_url, clock=env.clock, sleep=env.clock.sleep)
    settle_for_sync()
    worker = Worker(app, drain_interval=60.0)
    end = env.start + timedelta(hours=hours)
    stop_activity = threading.Event()

    def activity() -> None:
        # people act about every 3 simulated minutes in each helpdesk
        while not stop_activity.wait(env.clock.real_seconds(180)):
            env.zendesk_activity.step()
            env.jira_activity.step()

    driver = threading.Thread(target=activity, name="demo-activity", daemon=True)
    dashboard = Dashboard(console, app.store, env.clock, env.start, end, app.policies.policy)
    final = None
    try:
        worker.start()
        driver.start()
        dashboard.run(until=lambda: env.clock.now() >= end)
    finally:
        stop_activity.set()
        worker.shutdown()
        driver.join(timeout=5)
        final = snapshot(app.store, env.clock.now(), app.policies.policy)
        dashboard.summary(final, worker)
        app.close()
        env.stop()
    example = final.recent[0][0] if final is not None and final.recent else "<connection:id>"
    console.print(
        f"\nExplore the result:\n  .venv/bin/tierdesk explain {example} --db {env.db_url} --mappings {env.mappings}"
        f" --now {end.isoformat()}\n  .venv/bin/tierdesk report --db {env.db_url} --mappings {env.mappings}"
        f" --now {end.isoformat()} --out {out / 'report.html'}",
        soft_wrap=True,
    )
    accounts = sorted(app.policies.policy.accounts)
    if accounts:  # the customer-facing monthly report of one account
        console.print(
            f"  .venv/bin/tierdesk report --account {accounts[0]} --month {end:%Y-%m} --db {env.db_url}"
            f" --mappings {env.mappings} --now {end.isoformat()} --out {out / (accounts[0] + '.pdf')}",
            soft_wrap=True,
        )
    return 0
