"""Report folders are built beside their destination and swapped into place whole, so a reader
never sees half a report and a failed build leaves the previous one untouched."""
from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

from ..errors import ReportError

MARKER = ".audiostyle-report"  # present in every folder this package writes, so it may replace it later


def check_report_dir(path: str | os.PathLike) -> Path:
    """Refuse, before any work, a destination that is a file or a folder holding other things."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ReportError(f"report folder {path} is a file; pass a folder name, e.g. --report {path.with_suffix('')}_report")
    if path.is_dir() and any(path.iterdir()) and not (path / MARKER).exists():
        raise ReportError(f"report folder {path} already holds other files; choose a new or empty folder "
                          "(an old audiostyle report there would be replaced)")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write report folder {path}: folder {parent} is not writable")
    return path


@contextmanager
def staged_dir(final: str | os.PathLike):
    final = check_report_dir(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    temp = final.parent / f".{final.name}.{token}.partial"
    temp.mkdir()
    try:
        yield temp
        (temp / MARKER).write_text("written by audiostyle; this folder is replaced when the report is rebuilt\n")
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    if final.exists():
        old = final.parent / f".{final.name}.{token}.old"
        os.replace(final, old)
        os.replace(temp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temp, final)


def write_text_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
