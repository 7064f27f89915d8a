"""Where batch and watch jobs run: in this process, in a pool of processes, or on a Ray cluster.

All three take a JobSpec and give back a concurrent.futures.Future of a JobOutcome, so the
coordinator does not care which one it talks to. ``capacity`` is how many jobs it keeps in flight.
"""
from __future__ import annotations

import os
import queue
from concurrent.futures import Future

from ..errors import AudiostyleError
from .job import JobSpec, run_job, worker_init


class InlineExecutor:
    """One worker: jobs run in the calling thread, without pickling or process start-up."""

    capacity = 1

    def __init__(self):
        self.on_progress = None  # the job runs in the caller's thread, so progress is shown as it happens

    def submit(self, spec: JobSpec) -> Future:
        future: Future = Future()
        future.set_result(run_job(spec, report=self._report))
        return future

    def _report(self, item) -> None:
        if self.on_progress is not None:
            self.on_progress(item)

    def progress_events(self) -> list:
        return []

    def shutdown(self, wait: bool = True) -> None:
        pass


def _ready(linger: float) -> None:
    import time

    from ..run import default_registry

    default_registry()  # imports every node module (numpy, pedalboard)
    time.sleep(linger)  # so each warm-up call lands on a different worker


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


class ProcessExecutor:
    """N worker processes on this machine, each with its share of the cores."""

    def __init__(self, workers: int):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the coordinator has threads (watchdog observer) that fork would copy mid-state.
        ctx = mp.get_context("spawn")
        self.capacity = workers
        self._queue = ctx.Queue()
        self._new_pool = lambda: ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init,
                                                     initargs=(threads_per_worker(workers), self._queue))
        self._pool = self._new_pool()

    def submit(self, spec: JobSpec) -> Future:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(run_job, spec)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): its jobs were reported failed; start afresh.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(run_job, spec)

    def warm_up(self) -> None:
        """Start every worker and import the node code there, before the first file arrives."""
        for future in [self._pool.submit(_ready, 0.3) for _ in range(self.capacity)]:
            future.result()

    def progress_events(self) -> list:
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except (queue.Empty, OSError, ValueError):
                return events

    def abort(self) -> None:
        """Stop now (second Ctrl-C): running jobs are killed; their journal rows stay 'running', so the
        next start redoes them, and their staged outputs are swept."""
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self.shutdown(wait=False)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self._queue.close()
        self._queue.join_thread()


def make_executor(kind: str = "local", workers: int = 1, address: str | None = None):
    if workers < 1:
        raise AudiostyleError(f"--workers {workers} must be at least 1")
    if kind == "local":
        return InlineExecutor() if workers == 1 else ProcessExecutor(workers)
    if kind == "ray":
        from .ray_pool import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise AudiostyleError(f"unknown executor '{kind}'; expected local or ray")
