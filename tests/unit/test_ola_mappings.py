"""The `olas:` section: valid OLAs reach the policy; each mistake is one file:line error with the fix."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from connector.mappings import check, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def with_olas(tmp_path: Path, text: str) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(EXAMPLES, target)
    (target / "olas.yaml").write_text(text, encoding="utf-8")
    return target


def test_olas_by_alias_and_by_group_id_reach_the_policy_with_their_source(tmp_path: Path) -> None:
    directory = with_olas(
        tmp_path,
        "olas:\n  tier-2:\n    target: 4h\n    calendar: berlin-office\n  '38000000003':\n    target: 30m\n",
    )
    olas = load_policy(directory).olas
    assert {name: (o.target, o.calendar) for name, o in olas.items()} == {
        "tier-2": (timedelta(hours=4), "berlin-office"),
        "38000000003": (timedelta(minutes=30), "24x7"),
    }
    assert olas["tier-2"].source == f"{directory / 'olas.yaml'}:3"


def test_an_ola_edit_is_a_new_policy_version(tmp_path: Path) -> None:
    first = load_policy(with_olas(tmp_path / "a", "olas:\n  tier-2:\n    target: 4h\n")).version
    second = load_policy(with_olas(tmp_path / "b", "olas:\n  tier-2:\n    target: 5h\n")).version
    assert first != second


def test_ola_mistakes_are_one_line_each_at_their_place(tmp_path: Path) -> None:
    directory = with_olas(
        tmp_path,
        "olas:\n"
        "  tier-2:\n"
        "    target: 4h\n"
        "    calendar: berlin-offce\n"
        "  tier-3:\n"
        "    target: 1h\n"
        "  duty-managers:\n"
        "    target: 0m\n",
    )
    errors = [(e.line, e.message) for e in check(directory)]
    path = str(directory / "olas.yaml")
    assert all(e.path == path for e in check(directory))
    assert errors[0][0] == 4
    assert errors[0][1].startswith("unknown calendar 'berlin-offce'; did you mean 'berlin-office'?")
    assert errors[1][0] == 5
    assert "OLA 'tier-3' names no group" in errors[1][1]
    assert errors[1][1].endswith("-> add the group under the connection's aliases")
    assert errors[2][0] == 8
    assert "is zero; a duration must be positive" in errors[2][1]
    assert len(errors) == 3
