"""What batch and watch show: a live status (files done/total, ETA, the running files' nodes and bars, drawn
with rich) on a terminal, one line per finished file otherwise, and the summary and status tables."""
from __future__ import annotations

import sys
import time
from datetime import datetime

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..progress import format_seconds, terminal_console
from ..tables import format_table

SHOWN_RUNNING = 8  # running files listed in the live status; more would push the finished lines off screen


class BatchDisplay:
    """Events from the coordinator → what the user sees. ``live`` (default: the stream is a terminal) draws a
    rich Live status under the finished-file lines; ``console`` (a rich Console) replaces the stream, e.g.
    ``Console(file=StringIO(), force_terminal=True)`` in tests. The status is redrawn from the coordinator's
    ticks (no refresh thread), at most every 0.2 s unless something started or ended."""

    def __init__(self, stream=None, live: bool | None = None, quiet: bool = False, total: int | None = None,
                 console: Console | None = None):
        if console is None:
            stream = stream or sys.stderr
            console = Console(file=stream, force_terminal=True, highlight=False) if live else terminal_console(stream)
        self.console = console
        self.stream = console.file
        self.live = console.is_terminal if live is None else live
        self.quiet = quiet
        self.total = total  # None in watch mode: files keep coming
        self.finished = 0
        self.failed = 0
        self.started_at = time.monotonic()
        self.busy_seconds = 0.0
        self.current: dict[str, tuple[str, float | None]] = {}  # rel -> (node text, fraction done or None)
        self._last_draw = 0.0
        self._node_changed = False
        self._live: Live | None = None

    # -- events from the coordinator ----------------------------------------------------------------
    def begin(self, total: int | None, swept: int = 0, interrupted: int = 0, recovered: int = 0) -> None:
        self.total = total
        if recovered:
            self.line(f"resuming: {recovered} file(s) had finished just before an earlier run was interrupted; kept")
        if interrupted:
            self.line(f"resuming: {interrupted} file(s) were interrupted by an earlier run and will be redone")
        if swept:
            self.line(f"removed {swept} partial output(s) left by an interrupted run")

    def file_queued(self, rel: str) -> None:
        pass

    def file_started(self, rel: str) -> None:
        self.current[rel] = ("starting", None)
        self.tick(force=True)

    def file_skipped(self, result, status: str) -> None:
        self.finished += 1
        if not self.live and not self.quiet:
            self.line(f"skip {result.rel} (already {status} with this content and graph)")

    def file_finished(self, result, warnings=()) -> None:
        self.current.pop(result.rel, None)
        self.finished += 1
        self.busy_seconds += result.seconds
        if result.status == "failed":
            self.failed += 1
            self.line(f"FAIL {result.rel}: {result.error}")
        elif not self.quiet:
            outs = ", ".join(result.outputs)
            self.line(f"ok   {result.rel} → {outs} ({result.seconds:.1f} s)")
        for w in warnings:
            if not self.quiet:
                self.line(f"     warning: {w}")
        self.tick(force=True)

    def node_progress(self, rel, node_index, node_count, node_id, done, total) -> None:
        if rel not in self.current:
            return  # reported by a worker after its file already finished
        text = f"[{node_index}/{node_count}] {node_id}"
        if self.current[rel][0] != text:
            self._node_changed = True  # a node starting is worth a redraw even inside the rate limit
        fraction = min(1.0, done / total) if done is not None and total else None
        self.current[rel] = (text, fraction)

    # -- drawing ------------------------------------------------------------------------------------
    def headline(self, now: float | None = None) -> str:
        """Files done of total, failures and ETA, e.g. ``2/5, 1 failed, ETA 40s``."""
        now = time.monotonic() if now is None else now
        head = f"{self.finished}/{self.total}" if self.total is not None else f"{self.finished} done"
        if self.failed:
            head += f", {self.failed} failed"
        if self.total and self.finished:
            head += f", ETA {format_seconds((now - self.started_at) / self.finished * (self.total - self.finished))}"
        return head

    def status(self) -> Group:
        """The live status: the headline (with a bar over the files when their number is known) and one row
        per running file: its path, its node, a bar and the percentage when the node reports them."""
        top = Table.grid(padding=(0, 1))
        if self.total:
            top.add_row(ProgressBar(total=self.total, completed=self.finished, width=30), Text(self.headline()))
        else:
            top.add_row(Text(self.headline()))
        rows = Table.grid(padding=(0, 1))
        running = list(self.current.items())
        for rel, (text, fraction) in running[:SHOWN_RUNNING]:
            bar = ProgressBar(total=1.0, completed=fraction, width=20) if fraction is not None else Text("")
            pct = f"{100 * fraction:3.0f}%" if fraction is not None else ""
            rows.add_row(Text(f"  {rel}:", overflow="ellipsis", no_wrap=True), Text(text), bar, Text(pct))
        if len(running) > SHOWN_RUNNING:
            rows.add_row(Text(f"  … {len(running) - SHOWN_RUNNING} more running"), "", "", "")
        return Group(top, rows)

    def tick(self, in_flight: int = 0, backlog: int = 0, force: bool = False) -> None:
        if not self.live or self.quiet:
            return
        now = time.monotonic()
        if not force and not self._node_changed and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        self._node_changed = False
        if self._live is None:
            self._live = Live(self.status(), console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(self.status(), refresh=True)

    def close(self) -> None:
        """Clear the live status, so what follows (the summary) starts on a clean screen line."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self, text: str) -> None:
        """A line that stays: printed above the live status on a terminal, plainly (no wrapping) otherwise."""
        if self.live:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            if self._live is not None:
                self._live.refresh()
        else:
            self.stream.write(text + "\n")
            self.stream.flush()


def _clip(text: str, width: int = 140) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def summary_table(results, summary: dict) -> str:
    rows = [[r.status, r.rel, f"{r.seconds:.1f}", ", ".join(r.outputs) if r.status != "failed" else _clip(r.error or "")]
            for r in results if not r.earlier]
    parts = []
    if rows:
        parts.append(format_table(rows, ["status", "input", "seconds", "output / reason"]))
    failed = f"{summary['failed']} failed"
    if summary["failed_earlier"]:
        failed += f" ({summary['failed_earlier']} unchanged since an earlier run; --retry-failed retries them)"
    line = (f"{summary['files']} file(s): {summary['done']} done, {failed}, "
            f"{summary['skipped']} skipped (already done) in {format_seconds(summary['seconds'])}")
    if summary["done"]:
        line += f" — {summary['files_per_minute']:.1f} files/min, {summary['realtime']:.1f}× realtime"
    parts.append(line)
    return "\n".join(parts)


def status_table(rows) -> str:
    if not rows:
        return "the journal is empty: nothing was processed into this folder yet"
    table = []
    for r in rows:
        when = datetime.fromtimestamp(r.finished_at or r.started_at).strftime("%Y-%m-%d %H:%M:%S") \
            if (r.finished_at or r.started_at) else ""
        detail = r.error if r.status == "failed" else ", ".join(r.outputs)
        table.append([r.status, r.input, str(r.attempts), "" if r.seconds is None else f"{r.seconds:.1f}", when,
                      detail or ""])
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    total = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return format_table(table, ["status", "input", "runs", "seconds", "finished", "output / reason"]) + \
        f"\n{len(rows)} input(s): {total}"
