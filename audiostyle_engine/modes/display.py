"""What batch and watch show: a live line (files done/total, the running files' progress, ETA) on a
terminal, one line per finished file otherwise, and the summary and status tables."""
from __future__ import annotations

import sys
import time
from datetime import datetime

from ..progress import format_seconds


class BatchDisplay:
    def __init__(self, stream=None, live: bool | None = None, quiet: bool = False, total: int | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.total = total  # None in watch mode: files keep coming
        self.finished = 0
        self.failed = 0
        self.started_at = time.monotonic()
        self.busy_seconds = 0.0
        self.current: dict[str, str] = {}  # rel -> progress text
        self._last_draw = 0.0
        self._node_changed = False

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
        self.current[rel] = "starting"
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
        if not self.current[rel].startswith(text):
            self._node_changed = True  # a node starting is worth a redraw even inside the rate limit
        if done is not None and total:
            text += f" {100 * min(1.0, done / total):3.0f}%"
        self.current[rel] = text

    def tick(self, in_flight: int = 0, backlog: int = 0, force: bool = False) -> None:
        if not self.live or self.quiet:
            return
        now = time.monotonic()
        if not force and not self._node_changed and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        self._node_changed = False
        head = f"{self.finished}/{self.total}" if self.total is not None else f"{self.finished} done"
        if self.failed:
            head += f", {self.failed} failed"
        elapsed = now - self.started_at
        if self.total and self.finished:
            head += f", ETA {format_seconds(elapsed / self.finished * (self.total - self.finished))}"
        running = "; ".join(f"{rel}: {text}" for rel, text in list(self.current.items())[:3])
        line = f"{head} | {running}" if running else head
        self.stream.write("\r\033[K" + line[:200])
        self.stream.flush()

    def close(self) -> None:
        """Clear the live line, so what follows starts on a clean line."""
        if self.live and not self.quiet:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def line(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


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
