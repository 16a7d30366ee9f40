"""Printing tables on a terminal without cutting words.

Rich fits a table to the terminal by squeezing columns, which on an 80-column terminal
breaks words and numbers mid-way. ``print_table`` prints at the table's natural width
when it does not fit: the terminal then wraps whole lines, which stay readable (and a
pipe or a wider window shows them intact).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_table(console: Console, table: Table) -> None:
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    if natural <= console.width:
        console.print(table)
        return
    wide = Console(width=natural, file=console.file, force_terminal=console.is_terminal)
    wide.print(table)
