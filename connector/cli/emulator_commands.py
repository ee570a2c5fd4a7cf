"""Commands that run the built-in emulators: `emulator` and `demo`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Literal

import typer

from connector import errors, logs
from connector.cli.app import (
    HelpdeskKind,
    MappingsOpt,
    app,
    console,
)


@app.command()
def emulator(
    kind: Annotated[HelpdeskKind, typer.Argument(help="The helpdesk to emulate.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8081,
    clock: Annotated[
        Literal["real", "simulated"], typer.Option(help="Real time, or a clock tests move.")
    ] = "real",
    seed: Annotated[
        Literal["demo", "empty"], typer.Option(help="Seed the demo data, or start empty.")
    ] = "empty",
    credentials: Annotated[str | None, typer.Option(help="EMAIL:TOKEN accepted; others get 401.")] = None,
) -> None:
    """Run a helpdesk emulator (the vendor API plus the /_emulator/ control plane)."""
    from connector.emulation import EmulatorServer
    from connector.registry import plugin

    module = plugin(kind.value)
    emulator_app = module.build_emulator(clock_mode=clock, seed=seed, credentials=credentials)
    server = EmulatorServer(emulator_app, port=port)
    console.print(f"{kind.value} emulator on {server.url} (clock {clock}, seed {seed}); Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@app.command()
def demo(
    hours: Annotated[float, typer.Option(help="Simulated hours to play.")] = 9.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 270.0,
    mappings: MappingsOpt = Path("mappings"),
    out: Annotated[Path, typer.Option(help="Where the demo keeps its database and mappings.")] = Path(
        "out/demo"
    ),
) -> None:
    """A simulated business day: both emulators, the real worker, a live view, a summary."""
    from connector.demo.run import run_demo

    if not mappings.is_dir():
        raise errors.InvalidInput(
            f"no mappings directory at {mappings}", "run from the repository root or pass --mappings DIR"
        )
    logs.configure(level="WARNING")
    raise typer.Exit(run_demo(console, out=out, mappings=mappings, hours=hours, speed=speed))
