"""The job journal of an output folder: one SQLite row per input, shared by batch and watch modes.

It is what makes processing exactly-once and crash-safe. A row remembers the input's content hash
and the graph's hash it was processed with; a file is redone only when one of them changed or when
its last attempt never finished (the process was killed: the row still says 'running').
Only the coordinating process writes the journal; workers just compute.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL_NAME = ".audiostyle-journal.sqlite"

QUEUED, RUNNING, DONE, FAILED, INTERRUPTED = "queued", "running", "done", "failed", "interrupted"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    input TEXT PRIMARY KEY,        -- path relative to the input folder, '/'-separated
    content_hash TEXT NOT NULL,
    graph_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,  -- how many times processing started
    started_at REAL,
    finished_at REAL,
    seconds REAL,                  -- wall time of the last attempt
    audio_seconds REAL,            -- duration of the input, for × realtime figures
    output TEXT,                   -- where ${out} points: two inputs must not share it
    output_inode INTEGER,          -- that file's inode when the attempt started (-1: none), see recover()
    outputs TEXT NOT NULL DEFAULT '[]',   -- JSON list of absolute output paths written
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_output ON jobs (output);
"""


@dataclass
class JobRow:
    input: str
    content_hash: str
    graph_hash: str
    status: str
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    seconds: float | None = None
    audio_seconds: float | None = None
    output: str | None = None
    output_inode: int | None = None
    outputs: list[str] = field(default_factory=list)
    error: str | None = None


def file_hash(path: str | Path) -> str:
    """Content hash of a file: SHA-256 (hardware-accelerated on current CPUs, about twice as fast as
    BLAKE2b here), read without copies; shortened to 128 bits, ample to notice a changed file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:32]


class Journal:
    def __init__(self, out_dir: str | Path, readonly: bool = False):
        self.path = Path(out_dir) / JOURNAL_NAME
        if readonly:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            self._db = sqlite3.connect(self.path, timeout=30)
            # WAL: 'audiostyle status' can read while a watcher writes; synchronous=NORMAL is still
            # durable against process crashes, which is the failure this journal guards against.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, rel: str) -> JobRow | None:
        cur = self._db.execute("SELECT * FROM jobs WHERE input = ?", (rel,))
        row = cur.fetchone()
        return _row(cur, row) if row else None

    def all(self) -> list[JobRow]:
        cur = self._db.execute("SELECT * FROM jobs ORDER BY input")
        return [_row(cur, r) for r in cur.fetchall()]

    def needs_run(self, rel: str, content_hash: str, graph_hash: str, retry_failed: bool = False) -> bool:
        """False when this exact content was already processed by this exact graph."""
        row = self.get(rel)
        if row is None or row.content_hash != content_hash or row.graph_hash != graph_hash:
            return True
        if row.status == DONE:
            # An output deleted by the user is made again.
            return not row.outputs or not all(Path(p).exists() for p in row.outputs)
        if row.status == FAILED:
            return retry_failed
        return True  # queued, running (killed mid-job) or interrupted

    def owner_of_output(self, output: str, other_than: str) -> str | None:
        """The input that already produced ``output``, when it is not ``other_than``."""
        row = self._db.execute("SELECT input FROM jobs WHERE output = ? AND status = ? AND input != ? LIMIT 1",
                               (output, DONE, other_than)).fetchone()
        return row[0] if row else None

    def start(self, rel: str, content_hash: str, graph_hash: str, output: str | None = None) -> None:
        inode = _inode(output) if output else None
        self._db.execute(
            "INSERT INTO jobs (input, content_hash, graph_hash, status, attempts, started_at, finished_at, seconds,"
            " error, output, output_inode) VALUES (?, ?, ?, ?, 1, ?, NULL, NULL, NULL, ?, ?)"
            " ON CONFLICT(input) DO UPDATE SET content_hash = excluded.content_hash, graph_hash = excluded.graph_hash,"
            " status = excluded.status, attempts = jobs.attempts + 1, started_at = excluded.started_at,"
            " finished_at = NULL, seconds = NULL, error = NULL, output = excluded.output,"
            " output_inode = excluded.output_inode",
            (rel, content_hash, graph_hash, RUNNING, time.time(), output, inode))
        self._db.commit()

    def finish(self, rel: str, status: str, seconds: float, outputs: list[str], error: str | None,
               audio_seconds: float | None) -> None:
        self._db.execute("UPDATE jobs SET status = ?, finished_at = ?, seconds = ?, outputs = ?, error = ?,"
                         " audio_seconds = ? WHERE input = ?",
                         (status, time.time(), seconds, json.dumps(outputs), error, audio_seconds, rel))
        self._db.commit()

    def set_status(self, rel: str, status: str) -> None:
        self._db.execute("UPDATE jobs SET status = ? WHERE input = ?", (status, rel))
        self._db.commit()

    def recover_committed(self) -> list[str]:
        """Rows left 'running' whose output was nevertheless renamed into place: the process died
        between committing the output and recording it. Outputs only ever appear whole and by rename,
        which gives them a new inode, so a changed inode proves the attempt finished. Marked done
        instead of being redone. (Callers use this only for graphs with a single output.)"""
        recovered = []
        for row in [r for r in self.all() if r.status == RUNNING and r.output]:
            inode = _inode(row.output)
            if inode != -1 and inode != row.output_inode:
                self._db.execute("UPDATE jobs SET status = ?, outputs = ?, finished_at = ? WHERE input = ?",
                                 (DONE, json.dumps([row.output]), time.time(), row.input))
                recovered.append(row.input)
        self._db.commit()
        return recovered

    def mark_interrupted(self) -> int:
        """Rows left 'running' by a process that died: they are redone."""
        cur = self._db.execute("UPDATE jobs SET status = ? WHERE status IN (?, ?)", (INTERRUPTED, RUNNING, QUEUED))
        self._db.commit()
        return cur.rowcount


def _inode(path: str) -> int:
    try:
        return Path(path).stat().st_ino
    except OSError:
        return -1


def _row(cur, values) -> JobRow:
    data = dict(zip([d[0] for d in cur.description], values))
    data["outputs"] = json.loads(data["outputs"] or "[]")
    return JobRow(**data)
