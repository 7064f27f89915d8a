"""A fake terminal for the rich displays: a Console writing into a string, and that string without its
control sequences (colours, cursor moves), i.e. the text a user would have seen drawn."""
from __future__ import annotations

import io
import re

from rich.console import Console

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def fake_terminal(width: int = 120) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=width)


def drawn_text(console: Console) -> str:
    return ANSI.sub("", console.file.getvalue())
