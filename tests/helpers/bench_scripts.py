"""bench/ scripts are not a package: load one by path, with bench/ on sys.path for its own imports."""
from __future__ import annotations

import contextlib
import importlib.util
import sys

from . import REPO


@contextlib.contextmanager
def bench_script(name: str):
    """The module of bench/<name>.py (as ``bench_<name>``), bench/ on sys.path while it is in use."""
    folder = str(REPO / "bench")
    sys.path[:0] = [folder]
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(folder)
