"""Progress displays for long runs: a live line on a terminal, JSON lines for machines, nothing otherwise."""
from __future__ import annotations

import json
import sys
import time

from .executor import ProgressEvent


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class TerminalProgress:
    """One live status line, rewritten at most ~10 times a second; a plain line when each node ends."""

    def __init__(self, stream=None, min_interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, e: ProgressEvent) -> None:
        now = time.monotonic()
        head = f"[{e.node_index}/{e.node_count}] {e.node_id} ({e.node_type})"
        if e.finished:
            self.stream.write(f"\r\033[K{head} done in {format_seconds(e.elapsed)}\n")
            self.stream.flush()
            return
        if now - self._last < self.min_interval:
            return
        self._last = now
        line = head
        if e.done is not None and e.total:
            frac = min(1.0, e.done / e.total)
            bar = "█" * int(frac * 20) + "·" * (20 - int(frac * 20))
            line += f" {bar} {int(e.done)}/{int(e.total)}"
            if e.done > 0:
                line += f" ETA {format_seconds(e.elapsed * (e.total - e.done) / e.done)}"
        if e.message and e.message not in ("started", "done"):
            line += f"  {e.message}"
        self.stream.write("\r\033[K" + line)
        self.stream.flush()


class JsonProgress:
    """One JSON object per event, for scripts and log collectors (--log-json)."""

    def __init__(self, stream=None, min_interval: float = 0.5):
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, e: ProgressEvent) -> None:
        now = time.monotonic()
        if not e.finished and e.message != "started" and now - self._last < self.min_interval:
            return
        self._last = now
        record = {"event": "node_done" if e.finished else ("node_start" if e.message == "started" else "progress"),
                  "node": e.node_id, "type": e.node_type, "index": e.node_index, "count": e.node_count,
                  "done": e.done, "total": e.total, "message": e.message, "elapsed": round(e.elapsed, 3)}
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()
