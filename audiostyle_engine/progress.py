"""Progress displays for long runs: live bars on a terminal (rich), JSON lines for machines, nothing otherwise."""
from __future__ import annotations

import json
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

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


def terminal_console(stream) -> Console:
    """A rich console on ``stream`` that treats it as a terminal exactly when it is one.

    Decided by isatty alone, not by rich's environment guesses (FORCE_COLOR, TTY_COMPATIBLE), so a pipe
    or a log file never receives control characters."""
    tty = is_terminal(stream)
    return Console(file=stream, force_terminal=tty, no_color=not tty, highlight=False)


class TerminalProgress:
    """One live bar per running node (iterations, ETA, the node's message such as its loss), redrawn at most
    every ``min_interval`` s, and a plain line when each node ends.

    Silent when its stream is not a terminal (a pipe, a log file, a batch worker), where a redrawn bar would
    only pile up control characters; ``force=True`` overrides that. ``console`` (a rich Console) replaces the
    stream, e.g. ``Console(file=StringIO(), force_terminal=True)`` in tests.

    The bars are redrawn from the events themselves (no refresh thread), so nothing runs once the last node
    has ended; ``close()`` ends the live area early (a failed run) and is safe to call twice."""

    def __init__(self, stream=None, min_interval: float = 0.1, force: bool = False, console: Console | None = None):
        if console is None:
            stream = stream or sys.stderr
            console = Console(file=stream, force_terminal=True, highlight=False) if force else terminal_console(stream)
        self.console = console
        self.min_interval = min_interval
        self.enabled = force or console.is_terminal
        self._last = 0.0
        self._progress: Progress | None = None
        self._tasks: dict[str, int] = {}  # node id -> rich task id

    def _bars(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[count]}", markup=False),
                TextColumn("{task.fields[eta]}", markup=False),
                TextColumn("{task.fields[message]}", markup=False),
                console=self.console, auto_refresh=False, transient=True)
            self._progress.start()
        return self._progress

    def __call__(self, e: ProgressEvent) -> None:
        if not self.enabled:
            return
        head = f"[{e.node_index}/{e.node_count}] {e.node_id} ({e.node_type})"
        bars = self._bars()
        if e.finished:
            task = self._tasks.pop(e.node_id, None)
            if task is not None:
                bars.remove_task(task)
                bars.refresh()  # the live area keeps its last drawing until redrawn; it must not outlive the bar
            bars.console.print(f"{head} done in {format_seconds(e.elapsed)}", markup=False, highlight=False,
                               soft_wrap=True)
            if e.node_index >= e.node_count and not self._tasks:
                self.close()  # the last node: hand the terminal back
            return
        if e.node_id not in self._tasks:
            self._tasks[e.node_id] = bars.add_task(head, total=None, count="", eta="", message="")
        known = e.done is not None and bool(e.total)
        message = e.message if e.message and e.message not in ("started", "done") else ""
        bars.update(self._tasks[e.node_id], total=e.total if known else None,
                    completed=min(e.done, e.total) if known else 0,
                    count=f"{int(e.done)}/{int(e.total)}" if known else "",
                    eta=f"ETA {format_seconds(e.eta)}" if known and e.eta is not None else "", message=message)
        now = time.monotonic()
        if e.message == "started" or now - self._last >= self.min_interval:
            self._last = now
            bars.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


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

    def close(self) -> None:
        pass
