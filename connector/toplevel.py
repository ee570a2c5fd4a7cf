"""The one top-level error handler of the `tierdesk` command.

Runs the click command behind the typer app and turns every way it can end into an exit code of
the contract (`connector.errors.EXIT_CODES`): a `TierdeskError` prints its one line, invalid
mappings one line per error, a usage error click's message (exit 1, not click's 2, which means
"finished with failed actions" here), anything else one "internal error" line (exit 70). The
traceback is printed (redacted) only with `--debug` / `TIERDESK_DEBUG=1`.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

import typer
from typer._click import Command
from typer._click import exceptions as click_exceptions

from connector import errors, logs
from connector.redaction import scrub


def _say(stream: TextIO, line: str, exit_code: int = errors.INVALID_INPUT) -> None:
    """One line: plain text, or a JSON log event when the logs are JSON (their stream stays
    parseable); with `--debug` the traceback comes first (plain) or in the `exception` field."""
    text = scrub(line).replace("\n", " ")
    trace = scrub(traceback.format_exc()) if errors.debug_enabled() and sys.exc_info()[0] else None
    if logs.json_enabled():
        event: dict[str, object] = {"event": text, "level": "error", "exit_code": exit_code}
        if trace:
            event["exception"] = trace
        event["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        stream.write(json.dumps(event) + "\n")
    else:
        stream.write((trace or "") + text + "\n")
    stream.flush()


def run(command: Command, args: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Run `command` with `args` (default: the process arguments); returns the exit code."""
    from connector.mappings import MappingsInvalid

    out = stream or sys.stderr
    try:
        result = command.main(
            args=list(args) if args is not None else None, prog_name="tierdesk", standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return errors.INTERRUPTED
    except click_exceptions.NoArgsIsHelpError:  # the help is already printed
        return errors.INVALID_INPUT
    except click_exceptions.ClickException as exc:  # usage errors, bad parameters
        # typer words a bad choice "Invalid value for 'kind': Value error, 'x' is not one of ...".
        message = exc.format_message().replace(": Value error, ", ": ").rstrip(".")
        if isinstance(exc, click_exceptions.UsageError) and exc.ctx is not None:
            message += f"; see `{exc.ctx.command_path} --help`"
        _say(out, f"error: {message}")
        return errors.INVALID_INPUT
    except MappingsInvalid as exc:
        for error in exc.errors:  # one line per error, each with its file, line and column
            _say(out, str(error))
        return errors.INVALID_INPUT
    except errors.TierdeskError as exc:
        _say(out, str(exc), exc.exit_code)
        return exc.exit_code
    except OSError as exc:  # a path given on the command line (mappings, --out) that cannot be used
        where = f"{exc.filename}: " if exc.filename else ""
        _say(
            out,
            f"error: {where}{exc.strerror or exc}; check the path and its permissions",
            errors.INVALID_INPUT,
        )
        return errors.INVALID_INPUT
    except Exception as exc:  # the last resort: one line, never a bare traceback
        translated = errors.store_error(None, exc)
        if translated is not None:
            _say(out, str(translated), translated.exit_code)
            return translated.exit_code
        first = (str(exc).splitlines() or [""])[0][:300]
        _say(
            out,
            f"internal error: {type(exc).__name__}: {first} (run with --debug for the traceback)",
            errors.INTERNAL_ERROR,
        )
        return errors.INTERNAL_ERROR
    return result if isinstance(result, int) else errors.OK
