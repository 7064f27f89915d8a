"""The installed package must hold every module of the source tree (a missing subpackage only shows
after `pip install .`, never in tests that import from the checkout)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_every_source_module(tmp_path):
    import shutil

    # Build from a clean copy: setuptools reuses a build/ folder, which could hide a missing package.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "cli.py"):
        shutil.copy(REPO / name, src / name)
    for package in ("audiostyle_engine", "nodes"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("audiostyle-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"cli.py"} | {p.relative_to(REPO).as_posix()
                             for package in ("audiostyle_engine", "nodes") for p in (REPO / package).rglob("*.py")}
    assert expected <= names, sorted(expected - names)
