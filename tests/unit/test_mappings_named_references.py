"""Fields, groups and people given by name in `connections`: accepted offline by `tierdesk check`,
carried to the policy as references to resolve, and a misshapen one reported at its line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from connector.domain.policy import NamedReference
from connector.mappings import check, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def _mappings(tmp_path: Path, zendesk_fields: str, zendesk_aliases: str) -> Path:
    target = tmp_path / "m"
    shutil.copytree(EXAMPLES, target)
    path = target / "connections.yaml"
    text = path.read_text(encoding="utf-8")  # the first connection is zendesk-main
    text = re.sub(r"(?m)^      tier: .*$", f"      tier: {zendesk_fields}", text, count=1)
    text = re.sub(r"(?m)^      duty-managers: .*$", f"      duty-managers: {zendesk_aliases}", text, count=1)
    path.write_text(text, encoding="utf-8")
    return target


def _position(path: Path, key: str) -> tuple[int, int]:
    """Line and column (1-based) of the value of the first `key:` in `path`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(f"{key}:"):
            return number, line.index(f"{key}:") + len(key) + 3
    raise AssertionError(f"no {key} in {path}")


def test_named_references_pass_check_and_wait_in_the_policy_for_resolution(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path, '{name: "Customer tier"}', '{group: "Duty managers"}')

    assert check(mappings) == []
    zendesk = next(c for c in load_policy(mappings).connections if c.name == "zendesk-main")
    assert "tier" not in zendesk.fields and "duty-managers" not in zendesk.aliases
    assert zendesk.fields["sla_due"] == load_policy(EXAMPLES).connections[0].fields["sla_due"]
    path = mappings / "connections.yaml"
    assert zendesk.named == (
        NamedReference("fields", "tier", "field", "Customer tier", str(path), *_position(path, "tier")),
        NamedReference(
            "aliases", "duty-managers", "group", "Duty managers", str(path), *_position(path, "duty-managers")
        ),
    )


def test_a_misspelt_reference_key_is_reported_once_with_the_syntax(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path, '{nmae: "Customer tier"}', '{gruop: "Duty managers"}')
    path = mappings / "connections.yaml"

    (tier_line, tier_col), (alias_line, alias_col) = _position(path, "tier"), _position(path, "duty-managers")
    assert [str(error) for error in check(mappings)] == [
        f'{path}:{tier_line}:{tier_col}: write the field\'s id, or its name as {{name: "Customer tier"}} '
        "(not {nmae: ...})",
        f'{path}:{alias_line}:{alias_col}: write an id, {{group: "Duty managers"}} or '
        '{user: "watcher@example.com"} (not {gruop: ...})',
    ]
