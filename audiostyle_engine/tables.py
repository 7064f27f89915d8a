"""Tables the CLI prints (batch summary, journal status, compare), drawn with rich.table and returned as text."""
from __future__ import annotations

import io
import shutil
import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .progress import is_terminal


def format_table(rows: list[list[str]], header: list[str], right: tuple[int, ...] = ()) -> str:
    """``rows`` under ``header`` (columns numbered in ``right`` right-aligned, for numbers), as text for print():
    fitted to the terminal's width when stdout is one, else at its natural width, so a log or a pipe gets whole
    paths and never cells folded over several lines."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i in right else "left")
    for row in rows:
        table.add_row(*(Text(str(c)) for c in row))
    tty = is_terminal(sys.stdout)
    width = shutil.get_terminal_size().columns if tty else 100_000
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=tty, no_color=not tty, highlight=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
