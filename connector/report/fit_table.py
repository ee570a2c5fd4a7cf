"""Tables that never cut a value: a rich table when it fits the console's width, else one block
per row (`column: value` lines), so dates and reasons stay whole when piped or on a narrow terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


def print_table(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    needed = Measurement.get(console, console.options, table).maximum
    if needed <= console.width:
        console.print(table)
        return
    console.print(Text(title, style="italic"), soft_wrap=True)
    for row in rows:
        first, *rest = zip(columns, row, strict=True)
        console.print(Text(f"- {first[0]}: {first[1]}"), soft_wrap=True)
        for column, cell in rest:
            console.print(Text(f"  {column}: {cell}"), soft_wrap=True)
