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


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class TerminalProgress:
    """One live status line, rewritten at most ~10 times a second; a plain line when each node ends.

    Silent when its stream is not a terminal (a pipe, a log file, a batch worker), where the
    rewritten line would only pile up control characters; ``force=True`` overrides that."""

    def __init__(self, stream=None, min_interval: float = 0.1, force: bool = False):
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self.enabled = force or is_terminal(self.stream)
        self._last = 0.0

    def __call__(self, e: ProgressEvent) -> None:
        if not self.enabled:
            return
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
            if e.eta is not None:
                line += f" ETA {format_seconds(e.eta)}"
        if e.message and e.message not in ("started", "done"):
            line += f"  {e.message}"
        self.stream.write("\r\033[K" + line)
        self.stream.flush()


class JsonProgress:
    """One JSON object per line, for scripts and log collectors (--log-json).

    Events: node_start, progress (at most every ``min_interval`` s), node_done. Each carries the
    node, its position in the run, done/total, eta (s, or null), the node's numbers (e.g. loss)
    and a Unix timestamp."""

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
                  "done": e.done, "total": e.total, "message": e.message, "elapsed": round(e.elapsed, 3),
                  "eta": None if e.eta is None else round(e.eta, 3), "time": round(time.time(), 3)}
        record.update({k: v for k, v in e.values.items() if k not in record})
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()
