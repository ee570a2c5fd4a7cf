"""The smaller points of the `tierdesk` command, each run as a separate process whose output is a
pipe: ticket references `explain` accepts, output that folds instead of cutting, read-only
commands on a database that does not exist, where `report` writes, option names in errors, help."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.domain.model import Event, EventKind, Organization, Priority, Status, Ticket
from connector.ports import TicketRecord
from connector.store.repository import Store
from tests.e2e.support import EXAMPLE_MAPPINGS, run_cli, write_mappings, zendesk_emulator

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=3)
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})")


def _ticket(connection: str, ticket_id: str, subject: str, fields: dict[str, str]) -> TicketRecord:
    ticket = Ticket(
        connection=connection,
        id=ticket_id,
        created_at=OPENED,
        updated_at=OPENED,
        status=Status.OPEN,
        subject=subject,
        priority=Priority.NORMAL,
        requester_id="c1",
        requester_email="ann@acme.example",
        organization=Organization(id="1", name="Acme Corp"),
        fields=fields,
    )
    opening = Event(
        id=f"{ticket_id}-0", at=OPENED, kind=EventKind.PUBLIC_CUSTOMER_COMMENT, author_id="c1", opening=True
    )
    return TicketRecord(ticket=ticket, events=(opening,))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example mappings and a store holding Zendesk ticket 10005 and Jira issue SUP-5 (whose
    issue id is also 10005)."""
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(EXAMPLE_MAPPINGS, root / "mappings")
    store = Store.open(f"sqlite:///{root / 'tierdesk.db'}")
    try:
        store.save_pull_page(
            "zendesk-main", [_ticket("zendesk-main", "10005", "Checkout is down", {})], None, now=OPENED
        )
        store.save_pull_page(
            "jira-main",
            [_ticket("jira-main", "10005", "Login fails", {"key": "SUP-5", "project": "SUP"})],
            None,
            now=OPENED,
        )
    finally:
        store.close()
    return root


def _explain(workspace: Path, *args: str, columns: int = 80) -> tuple[int, str, str]:
    ran = run_cli(["explain", *args, "--now", NOW.isoformat()], workspace, columns=columns)
    return ran.returncode, ran.stdout, ran.stderr


def test_explain_accepts_a_jira_issue_key(workspace: Path) -> None:
    code, out, _ = _explain(workspace, "SUP-5")
    assert code == 0
    assert out.startswith("jira-main:10005  'Login fails'")


def test_explain_accepts_a_key_in_any_case_and_with_its_connection(workspace: Path) -> None:
    assert _explain(workspace, "sup-5")[1].startswith("jira-main:10005")
    assert _explain(workspace, "zendesk-main:10005")[1].startswith("zendesk-main:10005  'Checkout is down'")


def test_explain_of_an_id_two_connections_hold_asks_for_the_connection(workspace: Path) -> None:
    code, out, err = _explain(workspace, "10005")
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "ticket '10005' is ambiguous (jira-main:10005, zendesk-main:10005); pass --connection NAME "
        "or CONNECTION:ID"
    ]
    code, out, _ = _explain(workspace, "10005", "--connection", "zendesk-main")
    assert code == 0
    assert out.startswith("zendesk-main:10005")


def test_explain_of_an_unknown_ticket_prints_one_line_and_exits_1(workspace: Path) -> None:
    code, out, err = _explain(workspace, "SUP-999")
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "ticket 'SUP-999' is not in the store (zendesk-main, jira-main); check the id or key, "
        "or run `tierdesk sync --once` first"
    ]


def test_explain_at_80_columns_through_a_pipe_cuts_nothing(workspace: Path) -> None:
    code, narrow, _ = _explain(workspace, "zendesk-main:10005", columns=80)
    assert code == 0
    assert "…" not in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 80
    # the clocks table is too wide for 80 columns: one block per clock, every instant whole
    lines = [" ".join(line.split()) for line in narrow.splitlines()]
    assert "due / breached: 2026-03-04T12:15:00Z" in lines
    assert "due / breached: 2026-03-04T20:00:00Z" in lines
    assert lines.count("started: 2026-03-04T12:00:00Z") == 2
    assert narrow.count("reached 75% at 2026-03-04T12:11:15Z") == 3


def test_explain_on_a_wide_terminal_keeps_its_tables(workspace: Path) -> None:
    code, wide, _ = _explain(workspace, "zendesk-main:10005", columns=400)
    assert code == 0
    assert any(line.startswith("┃ metric ") and "due / breached" in line for line in wide.splitlines())


@pytest.mark.parametrize("command", ["explain", "plan", "report"])
def test_read_only_commands_on_a_missing_sqlite_file_exit_1_and_create_nothing(
    workspace: Path, command: str
) -> None:
    missing = workspace / "typo.db"
    args = [command, "SUP-5"] if command == "explain" else [command]
    ran = run_cli([*args, "--db", f"sqlite:///{missing}", "--now", NOW.isoformat()], workspace)
    assert ran.returncode == 1
    assert ran.stdout == ""
    assert ran.stderr.strip().splitlines() == [
        f"error: no tierdesk database at {missing}; run `tierdesk sync` first or pass --db"
    ]
    assert not missing.exists()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_report_text_and_json_without_out_go_to_standard_output(workspace: Path, fmt: str) -> None:
    html = workspace / "tierdesk-report.html"
    html.unlink(missing_ok=True)
    ran = run_cli(["report", "--format", fmt, "--now", NOW.isoformat()], workspace)
    assert ran.returncode == 0, ran.stderr
    assert not html.exists()
    if fmt == "json":
        assert "tiers" in json.loads(ran.stdout) or json.loads(ran.stdout)
    else:
        assert ran.stdout.strip() and "report written" not in ran.stdout


def test_report_takes_its_format_from_the_out_extension(workspace: Path) -> None:
    target = workspace / "sla.json"
    ran = run_cli(["report", "--out", str(target), "--now", NOW.isoformat()], workspace)
    assert ran.returncode == 0, ran.stderr
    assert isinstance(json.loads(target.read_text(encoding="utf-8")), dict)


def test_report_refuses_a_format_the_out_extension_contradicts(workspace: Path) -> None:
    target = workspace / "sla.html"
    ran = run_cli(["report", "--format", "json", "--out", str(target)], workspace)
    assert ran.returncode != 0
    assert "--out" in ran.stderr and "html report, but --format is json" in ran.stderr
    assert not target.exists()


@pytest.mark.parametrize("option", ["--start", "--end"])
def test_a_bad_period_instant_is_reported_under_the_option_given(workspace: Path, option: str) -> None:
    ran = run_cli(["report", "--format", "json", option, "yesterday", "--now", NOW.isoformat()], workspace)
    assert ran.returncode != 0
    assert f"{option} 'yesterday' is not ISO 8601" in ran.stderr
    assert "--now" not in ran.stderr


def test_help_shows_choices_and_no_bool_metavars(workspace: Path) -> None:
    outputs = [
        run_cli([*command, "--help"], workspace, columns=120).stdout
        for command in ([], ["sync"], ["report"], ["emulator"], ["explain"])
    ]
    everything = "\n".join(outputs)
    assert "<bool>" not in everything
    assert "--format <html|text|json|csv|pdf>" in outputs[2]
    assert "<zendesk|jira>" in outputs[3]
    assert "--log-level <debug|info|warning|error>" in outputs[0]
    assert "--version" in outputs[0]


def test_version_prints_the_package_version(workspace: Path) -> None:
    ran = run_cli(["--version"], workspace)
    assert ran.returncode == 0
    assert re.fullmatch(r"tierdesk \d+\.\d+\.\d+\S*\n", ran.stdout)


def test_log_level_hides_less_severe_events(tmp_path: Path) -> None:
    """`sync --once` logs warnings and errors by default (its summary line says the rest); at
    `--log-level info` it logs its cycle too, at `--log-level error` (or the environment variable)
    nothing below error is printed."""
    with zendesk_emulator(NOW) as site:
        mappings = write_mappings(tmp_path / "mappings", {"zendesk": site.connection()})

        def levels(options: list[str], env: dict[str, str] | None = None) -> set[str]:
            db = f"sqlite:///{tmp_path / ('-'.join(options) + f'-{bool(env)}.db')}"  # a first sync each
            args = [
                *options,
                "sync",
                "--once",
                "--mappings",
                str(mappings),
                "--db",
                db,
                "--now",
                NOW.isoformat(),
            ]
            ran = run_cli(args, tmp_path, env=env)
            assert ran.returncode == 0, ran.stderr
            return {json.loads(line)["level"] for line in ran.stderr.splitlines() if line.startswith("{")}

        assert levels([]) <= {"warning", "error"}
        assert "info" in levels(["--log-level", "info"])
        assert levels(["--log-level", "error"]) <= {"error"}
        assert levels([], {"TIERDESK_LOG_LEVEL": "ERROR"}) <= {"error"}  # any case, as operators write it
        assert "debug" not in levels(["--log-level", "INFO"])


def test_plan_of_one_ticket_takes_a_jira_key_and_prints_each_action_whole(workspace: Path) -> None:
    jira = run_cli(["plan", "--ticket", "SUP-5", "--now", NOW.isoformat()], workspace, columns=80)
    zendesk = run_cli(
        ["plan", "--ticket", "10005", "--connection", "zendesk-main", "--now", NOW.isoformat()],
        workspace,
        columns=80,
    )
    assert jira.returncode == 0, jira.stderr
    assert "jira-main:10005 " in jira.stdout and "zendesk-main" not in jira.stdout
    assert zendesk.returncode == 0, zendesk.stderr
    words = zendesk.stdout.split()
    assert "https://wiki.example.com/support/playbooks/enterprise-sla" in words  # cut at 70 before
    assert "1 of 1 tickets would change" in " ".join(words)
