"""Which files a batch or watch works on: a folder (subfolders included) or a quoted glob, optionally
narrowed by a list file; hidden and temporary files and symlinks leading out are left alone."""
from __future__ import annotations

import glob
import os
from pathlib import Path

from ..errors import BatchSetupError

# Files that are still being written by browsers, editors and copy tools, or that are not user files.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", "~", ".crdownload", ".download", ".swp", ".!ut")
IGNORED_NAMES = ("Thumbs.db", "desktop.ini", "Icon\r")


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES) or name in IGNORED_NAMES or ".partial." in name


def inside(path: str, root: str) -> bool:
    return os.path.commonpath([root, path]) == root


def iter_inputs(in_dir: Path, warn=None):
    """Regular files under in_dir, sorted, without hidden/temporary files and hidden folders.
    Symlinked folders are not entered; a symlinked file is taken only when it points inside in_dir."""
    root = os.path.realpath(in_dir)
    for dirpath, dirnames, filenames in os.walk(in_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_ignored(name):
                continue
            path = Path(dirpath) / name
            if not inside(os.path.realpath(path), root):  # a symlink (or a symlinked folder) leading out
                if warn:
                    warn(f"skipped {path}: it is a symlink leading out of {in_dir}")
                continue
            if path.is_file():
                yield path


def expand_inputs(pattern: str, files_from: str | None = None, warn=None) -> tuple[Path, list[Path]]:
    """IN_DIR, a quoted glob ('stems/**/*.wav'), optionally narrowed by a list file → (root, files)."""
    if any(c in pattern for c in "*?["):
        parts = Path(pattern).parts
        first_magic = next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))
        root = Path(*parts[:first_magic]) if first_magic else Path(".")
        if not root.is_dir():
            raise BatchSetupError(f"the folder {root} of pattern {pattern} does not exist")
        candidates = set(iter_inputs(root, warn))  # the same hidden/temp/symlink rules as for a folder
        files = sorted(p for p in map(Path, glob.glob(pattern, recursive=True)) if p in candidates)
    else:
        root = Path(pattern)
        if not root.is_dir():
            raise BatchSetupError(f"input folder {pattern} does not exist or is not a folder; "
                                  "give a folder of audio files or a quoted glob such as 'stems/*.wav'")
        files = list(iter_inputs(root, warn))
    if files_from:
        try:
            wanted = [line.strip() for line in Path(files_from).read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise BatchSetupError(f"cannot read --files-from {files_from}: {exc.strerror}") from None
        present = {p.relative_to(root).as_posix(): p for p in files}
        picked = []
        for entry in (w for w in wanted if w and not w.startswith("#")):
            rel = os.path.relpath(entry, root) if os.path.isabs(entry) else entry
            rel = Path(rel).as_posix()
            if rel not in present:
                raise BatchSetupError(f"--files-from {files_from}: {entry} is not an audio file inside {root}; "
                                      "list paths relative to the input folder")
            picked.append(present[rel])
        files = picked
    return root, files
