"""The output folder of a batch or watch run: one run at a time (a lock file), the partial outputs a
killed run left (swept at the start), and small text files written atomically (error reasons)."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..errors import BatchSetupError

LOCK_NAME = ".audiostyle.lock"


class OutputFolderLock:
    """One coordinator per output folder: a second batch/watch on it would break exactly-once."""

    def __init__(self, out_dir: Path):
        import fcntl

        out_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(out_dir / LOCK_NAME, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise BatchSetupError(f"another audiostyle batch or watch is already writing to {out_dir}; "
                                  "wait for it or stop it first") from None

    def release(self) -> None:
        self._file.close()


def sweep_partials(out_dir: Path) -> int:
    """Staged outputs left by a killed run (never complete: they are renamed into place only on success)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(out_dir):
        for name in filenames:
            if name.startswith(".") and (".partial." in name or name.endswith(".partial")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    count += 1
        # Report folders are staged as hidden '.NAME.TOKEN.partial' (or '.old') folders and swapped in whole.
        for name in list(dirnames):
            if name.startswith(".") and name.endswith((".partial", ".old")):
                shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
                dirnames.remove(name)
                count += 1
    return count


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
