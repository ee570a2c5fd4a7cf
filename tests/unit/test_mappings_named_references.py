"""Fields, groups and people given by name in `connections`: accepted offline by `tierdesk check`,
carried to the policy as references to resolve, and a misshapen one reported at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.domain.policy import NamedReference
from connector.mappings import check, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def _mappings(tmp_path: Path, zendesk_fields: str, zendesk_aliases: str) -> Path:
    target = tmp_path / "m"
    shutil.copytree(EXAMPLES, target)
    path = target / "connections.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('      tier: "360000000001"\n', f"      tier: {zendesk_fields}\n", 1)
    text = text.replace(
        '      duty-managers: "360000000101"\n', f"      duty-managers: {zendesk_aliases}\n", 1
    )
    path.write_text(text, encoding="utf-8")
    return target


def test_named_references_pass_check_and_wait_in_the_policy_for_resolution(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path, '{name: "Customer tier"}', '{group: "Duty managers"}')

    assert check(mappings) == []
    zendesk = next(c for c in load_policy(mappings).connections if c.name == "zendesk-main")
    assert "tier" not in zendesk.fields and "duty-managers" not in zendesk.aliases
    assert zendesk.fields["sla_due"] == "360000000002"
    path = str(mappings / "connections.yaml")
    assert zendesk.named == (
        NamedReference("fields", "tier", "field", "Customer tier", path, 11, 13),
        NamedReference("aliases", "duty-managers", "group", "Duty managers", path, 22, 22),
    )


def test_a_misspelt_reference_key_is_reported_once_with_the_syntax(tmp_path: Path) -> None:
    mappings = _mappings(tmp_path, '{nmae: "Customer tier"}', '{gruop: "Duty managers"}')
    path = mappings / "connections.yaml"

    assert [str(error) for error in check(mappings)] == [
        f'{path}:11:13: write the field\'s id, or its name as {{name: "Customer tier"}} (not {{nmae: ...}})',
        f'{path}:22:22: write an id, {{group: "Duty managers"}} or {{user: "watcher@example.com"}} '
        "(not {gruop: ...})",
    ]
