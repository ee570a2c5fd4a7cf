"""`tierdesk` run as a new admin would, with each of the common mistakes: every one ends with the
exit code of the contract (README, "Exit codes") and exactly one stderr line that says what to fix,
without a traceback; `--debug` brings the traceback back (redacted).

The helpdesk is the real Zendesk emulator on a free port, accepting one e-mail and token only, so
a wrong token gets Zendesk's own 401 through zenpy over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from connector.emulation.base import EmulatorServer
from plugins.zendesk import build_emulator
from plugins.zendesk.emulator import seed_account
from plugins.zendesk.emulator.seed import http_caller
from tests.e2e.support import ROOT, write_mappings

pytestmark = pytest.mark.e2e

EMAIL = "admin@acme.example"
TOKEN = "right-token-5f2c9a"
WRONG_TOKEN = "wrong-token-7d1e3b"


@dataclass
class Setup:
    root: Path
    url: str
    mappings: Path

    def variant(self, name: str, **connection: str) -> Path:
        """A copy of the mappings with the Zendesk connection's keys replaced."""
        target = self.root / name
        write_mappings(target, {"zendesk": dict(connection)}, source=self.mappings)
        return target


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("mistakes")
    app = build_emulator("real", "empty", f"{EMAIL}:{TOKEN}", 10**6, None)
    with EmulatorServer(app) as server:
        info = seed_account(http_caller(server.url, EMAIL, TOKEN))
        mappings = write_mappings(
            root / "mappings",
            {"zendesk": {"url": server.url, "fields": dict(info.fields)}},
            options={"zendesk": {"max_attempts": "1"}},  # an unreachable URL fails on the first try
        )
        yield Setup(root=root, url=server.url, mappings=mappings)


def tierdesk(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TIERDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), "TIERDESK_LOG_FORMAT": "console", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def credentials(token: str = TOKEN) -> dict[str, str]:
    return {"TIERDESK_ZENDESK_EMAIL": EMAIL, "TIERDESK_ZENDESK_TOKEN": token}


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_wrong_token_exits_3_naming_the_variables_to_fix(setup: Setup) -> None:
    result = tierdesk(
        ["sync", "--once", "--mappings", str(setup.mappings), "--db", "sqlite:///wrong-token.db"],
        setup.root,
        credentials(WRONG_TOKEN),
    )
    line = one_line(result)
    assert result.returncode == 3
    assert "refused the credentials (HTTP 401)" in line
    assert "TIERDESK_ZENDESK_EMAIL and TIERDESK_ZENDESK_TOKEN" in line
    assert WRONG_TOKEN not in result.stderr + result.stdout


def test_with_debug_the_traceback_appears_and_the_token_does_not(setup: Setup) -> None:
    result = tierdesk(
        ["--debug", "sync", "--once", "--mappings", str(setup.mappings), "--db", "sqlite:///debug.db"],
        setup.root,
        credentials(WRONG_TOKEN),
    )
    assert result.returncode == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: connection 'zendesk-main'")
    assert WRONG_TOKEN not in result.stderr


def test_tierdesk_debug_variable_turns_tracebacks_on_too(setup: Setup) -> None:
    result = tierdesk(["emulator", "servicenow"], setup.root, {"TIERDESK_DEBUG": "1"})
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://127.0.0.1:1", "connection refused"), ("http://tierdesk-nowhere.invalid", "(DNS)")],
)
def test_an_unreachable_url_exits_3_naming_the_url_and_connection(
    setup: Setup, url: str, reason: str
) -> None:
    mappings = setup.variant(f"unreachable-{reason[:4].strip('(')}", url=url)
    result = tierdesk(
        ["sync", "--once", "--mappings", str(mappings), "--db", "sqlite:///unreachable.db"],
        setup.root,
        credentials(),
    )
    line = one_line(result)
    assert result.returncode == 3
    assert f"cannot reach connection 'zendesk-main' ({url})" in line
    assert reason in line
    assert "check the url in connections.yaml" in line


def test_a_missing_credential_variable_exits_1_naming_it(setup: Setup) -> None:
    mappings = setup.variant("remote", url="https://acme.zendesk.com")
    result = tierdesk(["sync", "--once", "--mappings", str(mappings), "--db", "sqlite:///m.db"], setup.root)
    line = one_line(result)
    assert result.returncode == 1
    assert "set TIERDESK_ZENDESK_EMAIL and TIERDESK_ZENDESK_TOKEN" in line
    assert not (setup.root / "m.db").exists()  # nothing is created before the input is known good


@pytest.mark.parametrize(
    ("db", "code", "fix"),
    [
        ("nonsense://x", 1, "use sqlite:///PATH or postgresql+psycopg://"),
        ("sqlite:///not-a-database.db", 4, "point --db at a tierdesk database"),
        ("sqlite:///a-file/store.db", 4, "check that the directory exists and is writable"),
        ("postgresql://postgres@127.0.0.1:1/test", 4, "check that PostgreSQL is running"),
    ],
    ids=["bad-url", "not-a-database", "parent-is-a-file", "postgres-down"],
)
def test_a_store_that_cannot_be_used_exits_with_its_code_and_fix(
    setup: Setup, db: str, code: int, fix: str
) -> None:
    (setup.root / "not-a-database.db").write_text("these are not the pages of a database\n" * 200)
    (setup.root / "a-file").write_text("")
    result = tierdesk(
        ["sync", "--once", "--mappings", str(setup.mappings), "--db", db], setup.root, credentials()
    )
    line = one_line(result)
    assert result.returncode == code
    assert fix in line


def test_a_bad_emulator_kind_exits_1_naming_the_kinds(setup: Setup) -> None:
    result = tierdesk(["emulator", "servicenow"], setup.root)
    line = one_line(result)
    assert result.returncode == 1
    assert line == (
        "error: Invalid value for 'kind': 'servicenow' is not one of 'zendesk', 'jira'; "
        "see `tierdesk emulator --help`"
    )


def test_report_on_a_mistyped_database_path_exits_1_and_creates_nothing(setup: Setup) -> None:
    result = tierdesk(
        ["report", "--mappings", str(setup.mappings), "--db", "sqlite:///typo.db", "--out", "r.html"],
        setup.root,
    )
    line = one_line(result)
    assert result.returncode == 1
    assert "no tierdesk database at typo.db" in line
    assert not (setup.root / "typo.db").exists()


def test_invalid_mappings_print_one_line_per_error_and_exit_1(setup: Setup) -> None:
    broken = setup.variant("broken")
    yaml = YAML()
    path = broken / "connections.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    doc["connections"][0]["kind"] = "servicenow"
    doc["connections"][0]["pull_interval"] = "often"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    result = tierdesk(["sync", "--once", "--mappings", str(broken), "--db", "sqlite:///b.db"], setup.root)
    lines = result.stderr.splitlines()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(lines) >= 2
    assert all("connections.yaml:" in line for line in lines)


def test_a_usage_error_exits_1_not_2(setup: Setup) -> None:
    result = tierdesk(["sync", "--budget", "soon"], setup.root)
    line = one_line(result)
    assert result.returncode == 1  # 2 means "finished with failed actions"
    assert "'soon' is not a duration" in line


def test_in_json_log_mode_every_stderr_line_of_a_failure_is_json(setup: Setup) -> None:
    result = tierdesk(
        ["sync", "--once", "--mappings", str(setup.mappings), "--db", "sqlite:///json.db"],
        setup.root,
        {**credentials(WRONG_TOKEN), "TIERDESK_LOG_FORMAT": "json", "TIERDESK_LOG_LEVEL": "INFO"},
    )
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert result.returncode == 3
    assert len(events) >= 2  # the cycle's log events, then the error
    assert events[-1]["level"] == "error" and events[-1]["exit_code"] == 3
    assert "TIERDESK_ZENDESK_TOKEN" in events[-1]["event"]
    assert WRONG_TOKEN not in result.stderr


def test_in_json_log_mode_the_debug_traceback_is_a_field(setup: Setup) -> None:
    result = tierdesk(
        ["--debug", "sync", "--once", "--mappings", str(setup.mappings), "--db", "sqlite:///json-debug.db"],
        setup.root,
        {**credentials(WRONG_TOKEN), "TIERDESK_LOG_FORMAT": "json"},
    )
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert result.returncode == 3
    assert "Traceback (most recent call last)" in events[-1]["exception"]
    assert WRONG_TOKEN not in result.stderr


def test_the_demo_outside_the_repository_names_the_missing_mappings_directory(tmp_path: Path) -> None:
    result = tierdesk(["demo", "--hours", "1", "--out", str(tmp_path / "demo")], tmp_path)
    line = one_line(result)
    assert result.returncode == 1
    assert (
        line
        == "error: no mappings directory at mappings; run from the repository root or pass --mappings DIR"
    )
    assert not (tmp_path / "demo").exists()


def test_a_report_that_cannot_be_written_exits_1_naming_the_path_not_the_database(
    setup: Setup, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    db = f"sqlite:///{setup.root / 'written.db'}"
    synced = tierdesk(
        ["sync", "--once", "--mappings", str(setup.mappings), "--db", db], setup.root, credentials()
    )
    assert synced.returncode == 0, synced.stderr
    result = tierdesk(
        ["report", "--mappings", str(setup.mappings), "--db", db, "--out", str(blocker / "report.html")],
        setup.root,
    )
    line = one_line(result)
    assert result.returncode == 1
    assert line.startswith(f"error: {blocker}") and "check the path" in line and "database" not in line
