"""The JSON Schema shipped beside the example mappings: what `tierdesk schema` prints, named by every
example file's `yaml-language-server` line, and it accepts the examples and rejects a misspelt key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML
from typer.testing import CliRunner

from connector.cli import app
from tests.unit.test_mappings_broken import CASES_DIR

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"
SCHEMA_FILE = EXAMPLES / "tierdesk.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema=tierdesk.schema.json"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_the_committed_schema_is_what_tierdesk_schema_prints() -> None:
    printed = CliRunner().invoke(app, ["schema"])

    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8")), (
        "mappings/tierdesk.schema.json is stale: run `make schema`"
    )
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed.stdout


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_example_file_names_the_shipped_schema_on_its_first_line(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_the_schema_accepts_every_example_file(path: Path) -> None:
    errors = [f"{list(error.path)}: {error.message}" for error in _validator().iter_errors(_yaml(path))]

    assert errors == []


def test_the_schema_rejects_misspelt_keys_where_they_are_written() -> None:
    errors = list(_validator().iter_errors(_yaml(CASES_DIR / "unknown_key_typo" / "tiers.yaml")))
    causes = {(tuple(cause.absolute_path), cause.message) for error in errors for cause in error.context}

    assert (("tiers", "gold"), "Additional properties are not allowed ('calender' was unexpected)") in causes
    assert (
        ("tiers", "basic", "targets", "high"),
        "Additional properties are not allowed ('first_respons' was unexpected)",
    ) in causes
