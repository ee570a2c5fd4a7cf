"""The `tierdesk` Typer app, its global options, and what the commands share: option types,
instant and duration parsing, opening the store and building the app with errors that say what to fix."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from connector import errors, logs
from connector.registry import PLUGINS

if TYPE_CHECKING:
    from connector.bootstrap import App
    from connector.store.repository import Store

app = typer.Typer(
    name="tierdesk",
    help="Tiered-support SLA engine for Zendesk and Jira Service Management.",
    epilog="Exit codes:\n\n" + errors.exit_code_table().replace("\n", "\n\n"),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: flags without `<bool>`, choices as `<html|text|json>`
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)

ReportFormat = Literal["html", "text", "json", "csv", "pdf"]
HelpdeskKind = StrEnum("HelpdeskKind", {kind: kind for kind in PLUGINS})  # type: ignore[misc]

MappingsOpt = Annotated[
    Path,
    typer.Option("--mappings", envvar="TIERDESK_MAPPINGS", help="Directory of the admin YAML mappings."),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="TIERDESK_DB", help="Store URL (default sqlite:///tierdesk.db)."),
]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="Evaluate as of this ISO 8601 instant (replays, tests, the demo)."),
]


def parse_now(value: str | None, option: str = "--now") -> datetime:
    """The instant `value` (ISO 8601 with an offset) given to `option`; now when None."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{option} {value!r} is not ISO 8601 (e.g. 2026-11-25T14:30:00Z)", param_hint=f"'{option}'"
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            f"{option} needs a UTC offset or Z (e.g. 2026-11-25T14:30:00+01:00)", param_hint=f"'{option}'"
        )
    return parsed


def parse_duration(value: str) -> float:
    """Seconds of `90s`, `5m`, `1h` or a bare number of seconds."""
    text = value.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(text[-1:])
    number = text[:-1] if scale is not None else text
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a duration (e.g. 90s, 5m, 1h)") from None
    if seconds <= 0:
        raise typer.BadParameter(f"{value!r}: the budget must be more than zero")
    return seconds


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"tierdesk {version('tierdesk')}")
        except PackageNotFoundError:
            print("tierdesk (not installed as a package)")
        raise typer.Exit()


LogLevel = Literal["debug", "info", "warning", "error"]


@app.callback()
def options(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            envvar=logs.LEVEL_ENV,
            case_sensitive=False,
            help="Least severe log events shown. Default: info; warning for `sync` (its summary line "
            "says the rest; info adds progress events and the cycle line).",
        ),
    ] = None,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="TIERDESK_DEBUG",
            help="Print tracebacks (redacted) with errors; JSON logs carry them in an `exception` field.",
        ),
    ] = False,
) -> None:
    """Tiered-support SLA engine for Zendesk and Jira Service Management."""
    if log_level is not None:
        logs.set_default_level(log_level)
    errors.set_debug(debug)


def _resolve_or_exit(store, policy, reference: str, connection: str | None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from connector.report.ticket_ref import TicketNotResolved, resolve_ticket

    try:
        return resolve_ticket(store, [c.name for c in policy.connections], reference, connection)
    except TicketNotResolved as exc:
        store.close()
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _load_policy_or_exit(directory: Path):  # type: ignore[no-untyped-def]
    """The policy; invalid mappings raise `MappingsInvalid` (the handler prints one line each)."""
    from connector.mappings import load_policy

    return load_policy(directory)


def open_store(db: str | None, *, read_only: bool = False) -> Store:
    """The store at `db`; a failure to open it raises the `TierdeskError` that says what to fix.
    `read_only` commands refuse a SQLite file that does not exist instead of creating an empty one."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.store.engine import is_memory_sqlite, resolve_url
    from connector.store.repository import Store

    try:
        url = resolve_url(db)
        if read_only and url.get_backend_name() == "sqlite" and not is_memory_sqlite(url):
            path = Path(url.database or "")
            if not path.is_file():
                raise errors.InvalidInput(
                    f"no tierdesk database at {path}", "run `tierdesk sync` first or pass --db"
                )
        return Store.open(db)
    except (SQLAlchemyError, OSError) as exc:
        translated = errors.store_error(db, exc)
        if translated is None:
            raise
        raise translated from exc


def _build(mappings: Path, db: str | None, now: datetime | None = None) -> App:
    """The app; invalid mappings raise `MappingsInvalid`, the rest a `TierdeskError` with the fix."""
    from sqlalchemy.exc import SQLAlchemyError

    from connector.bootstrap import build_app
    from connector.clock import FixedClock
    from connector.retry import MissingCredentials

    try:
        return build_app(mappings, db, clock=FixedClock(now) if now is not None else None)
    except MissingCredentials as exc:
        raise errors.InvalidInput(str(exc), "export the variables (or NAME_FILE) and run again") from exc
    except (SQLAlchemyError, OSError) as exc:
        translated = errors.store_error(db, exc)
        if translated is None:
            raise
        raise translated from exc


def _helpdesk_failure(built: App, exc: BaseException) -> errors.TierdeskError:
    from connector.retry import HelpdeskError

    assert isinstance(exc, HelpdeskError)
    configs = {c.name: c for c in built.policies.policy.connections}
    config = configs.get(exc.connection or "") or next(iter(configs.values()))
    return errors.helpdesk_error(config, exc)
