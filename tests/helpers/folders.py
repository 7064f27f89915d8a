"""Helpers for the batch and watch tests: a tiny FX graph whose output is exactly half the input."""
from __future__ import annotations

import sqlite3
from pathlib import Path

HALF_GAIN_GRAPH = """
variables:
  content: missing.wav
  out: out/result.wav
  gain: -6.020599913
nodes:
  source:
    type: load
    path: ${content}
    min_seconds: 0.05
  louder:
    type: fx
    inputs: {audio: source}
    chain:
      - {effect: Gain, gain_db: "${gain}"}
  save:
    type: write
    inputs: {audio: louder}
    path: ${out}
    bit_depth: 32
"""


def half_gain_graph(folder: Path, text: str = HALF_GAIN_GRAPH) -> Path:
    path = Path(folder) / "half.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def journal_rows(out_dir: Path) -> dict[str, dict]:
    db = sqlite3.connect(Path(out_dir) / ".audiostyle-journal.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {r["input"]: dict(r) for r in db.execute("SELECT * FROM jobs")}
    finally:
        db.close()


def partial_files(folder: Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if ".partial." in p.name or p.name.endswith(".partial")]


def threads_seen_by_a_worker(spec) -> tuple[str | None, int, bool]:
    """Runs inside a pool process: what a job there gets to use."""
    import os

    import torch

    from audiostyle_engine.modes.job import run_job

    outcome = run_job(spec)
    return os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads(), outcome.ok


def die_abruptly() -> None:
    """A worker killed from outside (out-of-memory killer, kill -9)."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
