"""Commands that check the setup: `check`, `doctor`, `schema`, `db upgrade`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from connector import logs
from connector.cli.app import (
    DbOpt,
    MappingsOpt,
    _load_policy_or_exit,
    app,
    console,
    db_app,
    err,
    open_store,
)


@app.command()
def check(
    directory: Annotated[Path | None, typer.Argument(help="Mappings directory.")] = None,
    mappings: MappingsOpt = Path("mappings"),
) -> None:
    """Validate the mappings: exit 0, or exit 1 with one `path:line:col: message` per error."""
    from connector.mappings import check as check_mappings

    target = directory or mappings
    errors = check_mappings(target)
    for error in errors:
        print(str(error))
    if errors:
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {target}: mappings valid", highlight=False)


@app.command()
def doctor(
    mappings: MappingsOpt = Path("mappings"),
    connection: Annotated[
        str | None, typer.Option("--connection", help="Check only this connection.")
    ] = None,
) -> None:
    """Reach every helpdesk and check credentials, permissions and every reference in the
    mappings: one `connection: problem -> fix` line per finding; exit 0 ok, 1 problems found,
    3 a helpdesk unreachable or refusing the credentials."""
    from connector.doctor import exit_code, render, run_doctor
    from connector.secrets import EnvSecrets

    logs.configure(level="WARNING")  # the findings are the output; retries are not news here
    policy = _load_policy_or_exit(mappings)
    if connection is not None and connection not in {c.name for c in policy.connections}:
        known = ", ".join(c.name for c in policy.connections) or "none"
        err.print(f"unknown connection '{connection}' (connections: {known})", markup=False, highlight=False)
        raise typer.Exit(1)
    findings, checked = run_doctor(policy, EnvSecrets(), only=connection)
    for line in render(findings, checked):
        print(line)
    raise typer.Exit(exit_code(findings))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the mappings (for editor autocompletion)."""
    from connector.mappings import json_schema

    print(json.dumps(json_schema(), indent=2))


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Apply schema migrations."""
    store = open_store(db)
    try:
        store.upgrade()
        console.print(f"database at revision {store.schema_revision()}")
    finally:
        store.close()
