"""Tables that never cut a value: a rich table when it fits the console's width, else one block
per row (`column: value` lines, long values wrapped under their column), so dates and reasons
stay whole when piped or on a narrow terminal."""

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
    needed = Measurement.get(console, console.options.update_width(10**6), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    console.print(Text(title, style="italic"))
    for row in rows:
        block = Table.grid(padding=(0, 1))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for index, (column, cell) in enumerate(zip(columns, row, strict=True)):
            block.add_row(("- " if index == 0 else "  ") + f"{column}:", Text(cell))
        console.print(block)
