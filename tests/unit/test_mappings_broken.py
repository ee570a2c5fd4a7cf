"""Broken mappings: `check` reports every defect at once, each as `path:line:col: message`.

Each directory under `broken_mappings/` (except `_base`) holds one or more files that replace the
files of the small valid set in `_base/` (and optionally `remove.txt`, files of `_base` to drop),
plus `expected.txt`: the exact `tierdesk check` lines, with paths relative to the mappings
directory (`<dir>` for the directory itself).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.mappings import MappingError, MappingsInvalid, check, load_policy

CASES_DIR = Path(__file__).parent / "broken_mappings"
BASE = CASES_DIR / "_base"
CASES = sorted(path for path in CASES_DIR.iterdir() if path.is_dir() and not path.name.startswith("_"))


def assemble(case: Path, target: Path) -> Path:
    shutil.copytree(BASE, target)
    for file in case.iterdir():
        if file.name == "remove.txt":
            for name in file.read_text().split():
                (target / name).unlink()
        elif file.name != "expected.txt":
            shutil.copy(file, target / file.name)
    return target


def rendered(errors: list[MappingError], directory: Path) -> list[str]:
    return [str(error).replace(f"{directory}/", "").replace(str(directory), "<dir>") for error in errors]


def test_the_base_set_is_valid() -> None:
    assert check(BASE) == []


def test_there_are_at_least_25_broken_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_broken_mapping_reports_exact_errors(case: Path, tmp_path: Path) -> None:
    directory = assemble(case, tmp_path / "mappings")
    expected = [line for line in (case / "expected.txt").read_text().splitlines() if line]

    assert rendered(check(directory), directory) == expected


def test_load_policy_raises_with_every_error(tmp_path: Path) -> None:
    directory = assemble(CASES_DIR / "many_errors_across_files", tmp_path / "mappings")

    with pytest.raises(MappingsInvalid) as raised:
        load_policy(directory)

    assert len(raised.value.errors) == 6
    assert str(raised.value).splitlines() == [str(error) for error in raised.value.errors]


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    assert [str(error) for error in check(tmp_path)] == [
        f"{tmp_path}:1:1: no *.yaml files in the mappings directory; start from the example set (mappings/)"
    ]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert [str(error) for error in check(missing)] == [
        f"{missing}:1:1: mappings directory not found; pass the directory holding *.yaml"
    ]


def test_a_file_of_comments_only_is_ignored(tmp_path: Path) -> None:
    directory = assemble(CASES_DIR / "unknown_section", tmp_path / "mappings")
    (directory / "extra.yaml").write_text("# nothing here yet\n")

    assert check(directory) == []


def test_a_broken_file_does_not_cause_missing_section_errors(tmp_path: Path) -> None:
    directory = assemble(CASES_DIR / "yaml_syntax_error", tmp_path / "mappings")

    messages = [error.message for error in check(directory)]

    assert len(messages) == 1
    assert messages[0].startswith("YAML syntax error")


def test_secret_values_never_appear_in_messages(tmp_path: Path) -> None:
    directory = assemble(CASES_DIR / "literal_secrets_in_connection", tmp_path / "mappings")

    output = "\n".join(str(error) for error in check(directory))

    assert "9f8e7d6c5b4a39281706f5e4" not in output
    assert "hunter2" not in output
    assert "admin@acme.example" not in output


def test_a_single_file_can_be_checked_on_its_own() -> None:
    file = CASES_DIR / "unknown_key_typo" / "tiers.yaml"

    lines = [str(error).replace(f"{file}", "tiers.yaml") for error in check(file)]

    assert lines == [
        "tiers.yaml:1:1: missing section 'customers' (customer -> tier rules and default_tier); "
        "add it to a file such as customers.yaml",
        "tiers.yaml:1:1: missing section 'triage' (ticket -> severity rules and default_severity); "
        "add it to a file such as triage.yaml",
        "tiers.yaml:4:5: unknown key 'calender'; did you mean 'calendar'? (allowed: label, calendar, targets, "
        "warnings, escalation, clocks, severity_clocks, manual, monthly_allowance, service_credit, target_adherence, "
        "opening_comment_is_reply)",
        "tiers.yaml:10:17: unknown escalation chain 'gold' (known: none defined)",
        "tiers.yaml:12:15: unknown calendar 'office' (known: 24x7)",
        "tiers.yaml:15:14: unknown key 'first_respons'; did you mean 'first_response'? (allowed: "
        "first_response, next_response, periodic_update, resolution)",
    ]


def test_an_unclosed_bracket_is_found_past_brackets_in_comments_quotes_and_block_notes(
    tmp_path: Path,
) -> None:
    directory = assemble(CASES_DIR / "yaml_tab_indentation", tmp_path / "mappings")
    (directory / "writeback.yaml").write_text(
        "# tags look like [tier_gold] {see docs\n"
        "writeback:\n"
        "  tag_prefix: '[td'\n"
        "  fields: [tier,\n"
        "    sla_due, {x: [1]}\n"
        "  notes: true\n"
    )
    (directory / "escalations.yaml").write_text(
        "escalations:\n  gold:\n    levels:\n      - at: breach\n        actions:\n"
        "          - note: |\n              {metric} [breached\n          - add_tags: [a, b\n"
    )

    lines = rendered(check(directory), directory)

    assert [line.split(": YAML syntax error: ")[0] for line in lines] == [
        "escalations.yaml:8:23",
        "writeback.yaml:4:11",
    ]
    assert lines[0].endswith(
        "unclosed '[' begun here; parser stopped at 9:1: expected ',' or ']', but got "
        "'<stream end>'; close the list with ']'"
    )
    assert "parser stopped at 6:3:" in lines[1]


def test_a_calendar_with_a_bad_time_zone_and_a_bad_window_reports_both(tmp_path: Path) -> None:
    directory = assemble(CASES_DIR / "yaml_tab_indentation", tmp_path / "mappings")
    (directory / "writeback.yaml").write_text("writeback:\n  notes: true\n")
    (directory / "calendars.yaml").write_text(
        "calendars:\n  office:\n    timezone: Mars/Olympus\n    hours:\n      mon-fri: ['09:00-1700']\n"
    )

    lines = rendered(check(directory), directory)

    assert [line.split(": ", 1)[0] for line in lines] == ["calendars.yaml:3:15", "calendars.yaml:5:17"]
    assert "unknown time zone 'Mars/Olympus'" in lines[0] and "bad window '09:00-1700'" in lines[1]
