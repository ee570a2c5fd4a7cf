"""The running policy when its mappings directory goes away mid-deploy: the last good policy
keeps running, the error says what is missing, and the directory's return with an edit is a reload."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.policy_holder import PolicyHolder, _fingerprint

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_a_vanished_mappings_directory_keeps_the_last_good_policy_and_its_return_reloads(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    holder = PolicyHolder(directory)
    running = holder.policy.version

    directory.rename(tmp_path / "moved")
    assert holder.reload_if_changed() is False
    assert holder.policy.version == running
    assert holder.last_error is not None and "mappings directory not found" in holder.last_error

    (tmp_path / "moved").rename(directory)
    tiers = directory / "tiers.yaml"
    tiers.write_text(tiers.read_text(encoding="utf-8").replace("first_response: 15m", "first_response: 20m"))
    assert holder.reload_if_changed() is True
    assert holder.policy.version != running and holder.last_error is None


def test_the_edit_check_watches_the_files_the_policy_is_read_from(tmp_path: Path) -> None:
    """The YAML files and holiday feeds, not editor leftovers (`.tiers.yaml`) or other files."""
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "holidays.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n", encoding="utf-8")
    (directory / ".tiers.yaml").write_text("not: [yaml", encoding="utf-8")
    (directory / "notes.txt").write_text("ops notes", encoding="utf-8")
    (directory / "old.yaml").mkdir()
    watched = [name for name, _, _ in _fingerprint(directory)]
    assert watched == sorted([*(p.name for p in MAPPINGS.glob("*.yaml")), "holidays.ics"])
