"""Watch mode: a thin adapter from file-system events to the batch coordinator.

The watchdog handler only notes which paths changed; the main loop waits until a file's size and
mtime have stayed the same for ``settle_seconds`` (a copy in progress keeps changing them), then
offers it to the same Coordinator that batch mode uses, so the journal makes it exactly-once.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from .. import settings
from ..errors import GraphChangedError
from .coordinator import Coordinator
from .inputs import inside, is_ignored, iter_inputs
from .plan import Plan, text_hash


class _ChangedPaths:
    """Filled by watchdog's thread, emptied by the main loop."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.root = os.path.realpath(plan.in_dir)
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._folders: set[str] = set()

    def dispatch(self, event) -> None:  # watchdog calls this for every event
        kind = event.event_type
        if kind in ("deleted", "opened", "closed_no_write"):
            return
        path = os.fsdecode(event.dest_path if kind == "moved" else event.src_path)
        if not self._wanted(path):
            return
        with self._lock:
            if event.is_directory:
                if kind in ("created", "moved"):
                    self._folders.add(path)  # a folder moved in arrives with its files and no event for them
            else:
                self._paths.add(path)

    def _wanted(self, path: str) -> bool:
        try:
            rel = Path(path).relative_to(self.plan.in_dir)
        except ValueError:
            return False
        return bool(rel.parts) and not any(is_ignored(part) for part in rel.parts)

    def take(self) -> tuple[set[str], set[str]]:
        with self._lock:
            paths, folders = self._paths, self._folders
            self._paths, self._folders = set(), set()
        return paths, folders


class _GraphFile:
    """Notices when the graph file's text changes (a cheap stat each poll, a hash when it moved)."""

    def __init__(self, plan: Plan):
        self.path = plan.graph_path
        self.hash = plan.text_hash
        self._signature = self._stat()

    def _stat(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def changed(self) -> bool:
        signature = self._stat()
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            return text_hash(self.path.read_text(encoding="utf-8")) != self.hash
        except (OSError, UnicodeDecodeError):
            return True  # deleted or unreadable: not the graph this watch validated


class _Settling:
    """Paths waiting until their (size, mtime) stopped changing."""

    def __init__(self, settle_seconds: float):
        self.settle = settle_seconds
        self.pending: dict[str, tuple[tuple | None, float]] = {}

    def touch(self, path: str, now: float) -> None:
        signature = self.pending.get(path, (None, now))[0]
        self.pending[path] = (signature, now)

    def ready(self, now: float) -> list[str]:
        out = []
        for path, (signature, since) in list(self.pending.items()):
            try:
                st = os.stat(path)
            except OSError:
                del self.pending[path]  # deleted or renamed away before it settled
                continue
            current = (st.st_size, st.st_mtime_ns)
            if current != signature:
                self.pending[path] = (current, now)
            elif now - since >= self.settle:
                del self.pending[path]
                out.append(path)
        return sorted(out)


def watch(plan: Plan, executor, display=None, settle_seconds: float | None = None, polling: bool = False,
          retry_failed: bool = False, stop_event: threading.Event | None = None, install_signals: bool = True,
          poll_seconds: float | None = None) -> int:
    """Process files appearing in plan.in_dir until SIGINT/SIGTERM (or ``stop_event``); returns the
    number of files that failed in this session.

    The graph was validated once (Plan.create). When its file changes, the watch stops taking files,
    lets the running ones finish with the graph they started with, and raises GraphChangedError:
    restarting it validates the new graph, and its journal redoes every file made with the old one."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    settle = settings.WATCH_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    poll = settings.WATCH_POLL_SECONDS if poll_seconds is None else poll_seconds
    stop = stop_event or threading.Event()
    coordinator = Coordinator(plan, executor, display, retry_failed)
    changed = _ChangedPaths(plan)
    graph_file = _GraphFile(plan)
    graph_changed = False
    settling = _Settling(settle)
    observer = (PollingObserver if polling else Observer)()
    observer.schedule(changed, str(plan.in_dir), recursive=True)
    previous = {}
    if install_signals:
        def on_signal(signum, _frame):
            if stop.is_set():
                raise KeyboardInterrupt  # second signal: abort the running job (redone next start)
            stop.set()
            if display:
                display.line(f"stopping after the running job(s)… ({signal.Signals(signum).name} again aborts them)")
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    root = os.path.realpath(plan.in_dir)
    warned: set[str] = set()

    def consider(path: str, now: float) -> None:
        if not inside(os.path.realpath(path), root):  # through a symlink, file or folder, leading out
            if path not in warned and display:
                display.line(f"warning: skipped {path}: it is a symlink leading out of {plan.in_dir}")
            warned.add(path)
            return
        if os.path.isfile(path):
            settling.touch(path, now)

    try:
        if display:
            display.begin(None, coordinator.swept, coordinator.interrupted,
                          len(coordinator.recovered))
        if hasattr(executor, "warm_up"):
            executor.warm_up()  # start the workers now, so the first dropped file is not kept waiting
        observer.start()  # before the catch-up scan, so nothing arriving meanwhile is missed
        now = time.monotonic()
        for path in iter_inputs(plan.in_dir, warn=None):
            consider(str(path), now)
        if display:
            display.line(f"watching {plan.in_dir} → {plan.out_dir} (Ctrl-C to stop)")
        while not stop.is_set():
            if graph_file.changed():
                graph_changed = True
                if display:
                    display.line(f"the graph file {plan.graph_path} changed; finishing the running job(s) and stopping")
                break
            paths, folders = changed.take()
            now = time.monotonic()
            for folder in folders:
                for path in iter_inputs(Path(folder)):
                    consider(str(path), now)
            for path in paths:
                consider(path, now)
            for path in settling.ready(now):
                rel = plan.rel(Path(path))
                if coordinator.is_active(rel):
                    settling.touch(path, now)  # changed while being processed: look again after it finishes
                    continue
                coordinator.offer(Path(path))
            coordinator.pump(timeout=poll)
        coordinator.stop_taking_work()
        coordinator.drain()
        if graph_changed:
            raise GraphChangedError(f"the graph file {plan.graph_path} changed while watching; watch stopped so that no "
                                    "file is made with a graph that was not validated — start it again to use the new "
                                    "graph (files made with the old one are then redone)")
    finally:
        observer.stop()
        observer.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        coordinator.close()
    return sum(r.status == "failed" for r in coordinator.results)
