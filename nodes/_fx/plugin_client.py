"""Third-party plugins run in a worker process, never in the main one: this is the side that starts,
feeds, times and replaces it (the worker itself is plugin_worker.py).

The worker loads each plugin on its own main thread (VST3s must be), keeps loaded plugins for
the next job (loading can take long) and restores their just-loaded state before every job, so
no file inherits state from the one before. A plugin that crashes the worker (segfault, abort,
SIGKILL) or does not answer within the time limit fails only that job, with the reason; the
next job gets a fresh worker. Workers are replaced after a number of jobs to bound leaks.
"""
from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

from audiostyle_engine import settings
from audiostyle_engine.errors import PluginError, PluginProcessError


class PluginHost:
    """Runs plugin jobs in one worker process at a time; restarts it whenever needed.

    Thread-safe: runs on several threads share the worker one job at a time."""

    def __init__(self, max_jobs: int = settings.PLUGIN_WORKER_MAX_JOBS):
        self.max_jobs = max_jobs
        self._lock = threading.RLock()
        self._process = None
        self._conn = None
        self._log = None
        self._jobs = 0
        self._descriptions: dict[tuple, dict] = {}
        self.workers_started = 0  # for tests and reports: how often a worker had to be (re)started

    @property
    def worker_pid(self) -> int | None:
        return self._process.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def describe(self, path: str, plugin_name: str | None = None,
                 time_limit: float = settings.PLUGIN_LOAD_TIME_LIMIT) -> dict:
        """Load a plugin in the worker and return its description (cached per file version)."""
        real = os.path.realpath(path)
        try:
            stamp = os.stat(real).st_mtime_ns
        except OSError:
            raise PluginError(f"plugin not found: {path}; check the path or run 'audiostyle plugins list'") from None
        key = (real, stamp, plugin_name)
        with self._lock:
            if key not in self._descriptions:
                self._descriptions[key] = self.call("describe", {"path": path, "plugin_name": plugin_name}, time_limit,
                                                    what=f"loading {os.path.basename(path)}")
            return self._descriptions[key]

    def try_configure(self, entry_job: dict, time_limit: float = settings.PLUGIN_LOAD_TIME_LIMIT) -> str:
        """Configure a plugin as the entry asks, without audio, and return its state hash; raises
        PluginError (with the parameter's location) when the preset, state or a parameter does not take."""
        return self.call("try_configure", {"job": entry_job}, time_limit,
                         what=f"configuring {os.path.basename(entry_job['target'])}")

    def save_state(self, entry_job: dict, as_preset: bool, time_limit: float = settings.PLUGIN_LOAD_TIME_LIMIT) -> bytes:
        """A plugin configured like a chain entry, saved as a .vstpreset (as_preset) or raw state bytes."""
        return self.call("save_state", {"job": entry_job, "as_preset": as_preset}, time_limit,
                         what=f"saving the state of {os.path.basename(entry_job['target'])}")

    def render(self, chain: list[dict], samples, sample_rate: int, tail, *, time_limit: float,
               block_frames: int = settings.PLUGIN_STREAM_BLOCK,
               progress: Callable[[int, int], None] | None = None) -> dict:
        """Run ``samples`` through a chain of entry jobs (see chain.Entry.to_job); returns
        {samples, tail_frames, tail_capped, plugins: [{path, state_sha256, latency_samples}]}."""
        names = ", ".join(os.path.basename(e["target"]) for e in chain if not e["bypass"])
        job = {"chain": chain, "samples": samples, "sample_rate": sample_rate, "tail": tail, "block_frames": block_frames}
        return self.call("render", job, time_limit, what=f"rendering through {names}", progress=progress)

    def call(self, op: str, payload: dict, time_limit: float, what: str, progress=None):
        with self._lock:
            return self._call(op, payload, time_limit, what, progress)

    def _call(self, op: str, payload: dict, time_limit: float, what: str, progress=None):
        self._ensure_worker()
        self._jobs += 1
        deadline = time.monotonic() + time_limit
        try:
            self._conn.send((op, payload))
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self._conn.poll(left):
                    self._kill()
                    raise PluginProcessError(f"plugin worker gave no result within {time_limit:g} s while {what}; "
                                             "the plugin hangs, or needs a higher time limit (fx node: time_limit)")
                status, value = self._conn.recv()
                if status == "progress":
                    if progress:
                        progress(*value)
                    continue
                break
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            reason, last = self._death_reason()
            raise PluginProcessError(f"plugin worker crashed ({reason}) while {what}; only this job failed, the next "
                                     "one starts a fresh worker" + (f"; the worker's last output: {last}" if last else "")) from None
        except BaseException:
            # Interrupted mid-job (Ctrl-C, a failing progress hook): the worker's state is unknown and
            # its answer would reach the next job, so it goes.
            self._kill()
            raise
        if status == "error":
            message, location = value
            raise PluginError(message, tuple(location))
        return value

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._process is not None:
            try:
                self._conn.send(None)
                self._process.wait(5)
            except (OSError, BrokenPipeError, subprocess.TimeoutExpired):
                pass
            self._kill()

    def _ensure_worker(self) -> None:
        alive = self._alive()
        if alive and self._jobs < self.max_jobs:
            return
        if alive:
            self._close()  # recycle: a fresh process bounds whatever the plugins leak
        else:
            self._kill()
        # A fresh interpreter, not a fork or multiprocessing spawn: it inherits no threads or plugin
        # state, and never re-runs the caller's __main__ script. Our package root goes first on its
        # path so a 'nodes' folder in the current directory cannot stand in for ours.
        parent, child = socket.socketpair()
        fd, self._log = tempfile.mkstemp(prefix="audiostyle-plugin-worker-", suffix=".log")
        root = str(Path(__file__).resolve().parents[2])
        boot = (f"import sys; sys.path.insert(0, {root!r}); from nodes._fx.plugin_worker import worker_main; "
                f"worker_main({child.fileno()})")
        # Plugins print freely (and a lot): into the log, kept for crash reports, not the user's terminal.
        self._process = subprocess.Popen([sys.executable, "-c", boot], pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                         stdout=fd, stderr=fd,
                                         start_new_session=True)  # Ctrl-C in the terminal is the parent's to handle
        os.close(fd)
        child.close()
        self._conn = Connection(parent.detach())
        self._jobs = 0
        self.workers_started += 1

    def _kill(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        if self._log:
            try:
                os.unlink(self._log)
            except FileNotFoundError:
                pass
            self._log = None

    def _death_reason(self) -> tuple[str, str]:
        try:
            code = self._process.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            reason = "connection lost"
        elif code < 0:
            try:
                reason = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                reason = f"killed by signal {-code}"
        else:
            reason = f"exit status {code}"
        last = _last_line(self._log)
        self._kill()
        return reason, last


def _last_line(path: str | None) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 2000))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except (OSError, TypeError):
        return ""
    return re.sub(r"\x1b\[[0-9;]*m", "", lines[-1])[:200] if lines else ""  # without terminal colours


_shared: PluginHost | None = None


def shared_host() -> PluginHost:
    """The process-wide host: its worker and loaded plugins are reused across files and runs."""
    global _shared
    if _shared is None:
        _shared = PluginHost()
        atexit.register(_shared.close)
    return _shared
