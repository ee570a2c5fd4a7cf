"""The top-level handler (`connector.toplevel.run`) around a small typer app of its own: an
unexpected exception is one "internal error" line and exit 70, with the traceback only under
`--debug`; a `TierdeskError` is its one line and its exit code; credentials never reach the line."""

from __future__ import annotations

import io

import pytest
import structlog
import typer

from connector import errors, logs
from connector.redaction import forget_all, register_credentials
from connector.toplevel import run


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def options(debug: bool = typer.Option(False, "--debug")) -> None:
        errors.set_debug(debug)

    @app.command()
    def crash() -> None:
        raise KeyError("zendesk-main")

    @app.command()
    def refused() -> None:
        raise errors.CredentialsRefused("the helpdesk refused token tk-123456789", "check TOKEN_VAR")

    return app


@pytest.fixture(autouse=True)
def _clean() -> object:
    logs.configure(json=False, stream=io.StringIO())  # plain lines, whatever ran before
    yield
    errors.set_debug(False)
    forget_all()
    structlog.reset_defaults()


def _run(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run(typer.main.get_command(_app()), list(args), stream=out)
    return code, out.getvalue().splitlines()


def test_an_unexpected_exception_is_one_internal_error_line_and_exit_70() -> None:
    code, lines = _run("crash")
    assert code == 70
    assert lines == ["internal error: KeyError: 'zendesk-main' (run with --debug for the traceback)"]


def test_with_debug_the_traceback_comes_before_the_line() -> None:
    code, lines = _run("--debug", "crash")
    assert code == 70
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1].startswith("internal error: KeyError")


def test_an_expected_error_prints_its_line_redacted_and_exits_with_its_code() -> None:
    register_credentials("ops@acme.example", "tk-123456789")
    code, lines = _run("refused")
    assert code == errors.HELPDESK_UNAVAILABLE
    assert lines == ["error: the helpdesk refused token ***; check TOKEN_VAR"]


def test_a_usage_error_exits_1() -> None:
    code, lines = _run("nosuchcommand")
    assert code == errors.INVALID_INPUT
    assert len(lines) == 1 and "nosuchcommand" in lines[0]
