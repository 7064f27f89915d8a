"""Helpers for the batch and watch tests: the journal's rows, leftover partial files, worker probes."""
from __future__ import annotations

import sqlite3
from pathlib import Path

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
