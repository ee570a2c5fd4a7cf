"""The `tierdesk` command (also `python -m connector`): the app and its commands, one module per group."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from connector.cli.app import app, parse_duration, parse_now

__all__ = ["app", "main", "parse_duration", "parse_now"]
# Each module registers its commands on `app` when imported; this order is the order of `--help`.
for _module in ("setup_commands", "sync_commands", "insight_commands", "emulator_commands"):
    importlib.import_module(f"connector.cli.{_module}")


def main() -> None:
    """The `tierdesk` entry point: the one top-level handler (`connector.toplevel`) around the app."""
    from connector.toplevel import run

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(run(typer.main.get_command(app)))


if __name__ == "__main__":
    main()
