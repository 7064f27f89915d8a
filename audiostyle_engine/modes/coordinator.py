"""The coordinator of batch and watch: decides which files need work, feeds an executor, keeps the
journal and the error files. Batch mode hands it a list of files; watch mode drives it from file events.
"""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..audio_io import EXTENSIONS as AUDIO_EXTENSIONS
from .job import JobOutcome, one_line
from .journal import DONE, FAILED, INTERRUPTED, Journal, file_hash
from .output_folder import OutputFolderLock, sweep_partials, write_text_atomic
from .plan import Plan


@dataclass
class FileResult:
    rel: str
    status: str  # done, failed, skipped
    seconds: float = 0.0
    audio_seconds: float | None = None
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    earlier: bool = False  # the outcome of an earlier run, kept because input and graph are unchanged


class Coordinator:
    """Decides which files need work, keeps ``executor.capacity`` jobs in flight, and records every
    outcome in the journal (and an .error.txt for failures). Used by batch and watch alike."""

    def __init__(self, plan: Plan, executor, display=None, retry_failed: bool = False):
        self.plan = plan
        self.executor = executor
        self.display = display
        self.retry_failed = retry_failed
        self.lock = OutputFolderLock(plan.out_dir)
        try:
            self.journal = Journal(plan.out_dir)
        except Exception:
            self.lock.release()
            raise
        self.swept = sweep_partials(plan.out_dir)
        # With one output per input, an attempt killed right after its commit is recognisable and kept.
        self.recovered = self.journal.recover_committed() if plan.output_count == 1 else []
        self.interrupted = self.journal.mark_interrupted()
        self.backlog: list[tuple[str, str]] = []  # (rel, content hash) waiting for a free worker
        self.in_flight: dict[Future, tuple[str, str, float]] = {}
        self.results: list[FileResult] = []
        if display is not None and hasattr(executor, "on_progress"):
            executor.on_progress = self._show_progress

    def _show_progress(self, item) -> None:
        self.display.node_progress(*item)
        self.display.tick(len(self.in_flight), len(self.backlog))

    def close(self) -> None:
        for rel, _, _ in self.in_flight.values():  # aborted: say so now; the next start redoes them
            self.journal.set_status(rel, INTERRUPTED)
        self.journal.close()
        self.lock.release()

    # -- deciding ---------------------------------------------------------------------------------
    def _active_rels(self) -> list[str]:
        return [r for r, _ in self.backlog] + [r for r, _, _ in self.in_flight.values()]

    def is_active(self, rel: str) -> bool:
        return rel in self._active_rels()

    def offer(self, path: Path, content_hash: str | None = None) -> FileResult | None:
        """Queue ``path`` unless its current content was already processed by this graph."""
        rel = self.plan.rel(path)
        if self.is_active(rel):
            return None  # already queued; a later change is seen again once this one finishes
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8: the journal keys it by a readable form
            readable = os.fsencode(rel).decode("utf-8", "backslashreplace")
            return self._fail_now(readable, "", f"file name {readable} is not valid UTF-8; rename the file")
        try:
            content_hash = content_hash or file_hash(path)
        except OSError as exc:
            return self._fail_now(rel, "", f"cannot read {path}: {exc.strerror}")
        if not self.journal.needs_run(rel, content_hash, self.plan.graph_hash, self.retry_failed):
            row = self.journal.get(rel)
            # A file that failed before and is unchanged still counts as failed: the folder is not done.
            result = FileResult(rel, "skipped" if row.status == DONE else FAILED, 0.0, row.audio_seconds, row.outputs,
                                row.error, earlier=True)
            self.results.append(result)
            if self.display:
                self.display.file_skipped(result, row.status)
            return result
        if Path(rel).suffix.lower() not in AUDIO_EXTENSIONS:
            return self._fail_now(rel, content_hash, f"unsupported file type '{Path(rel).suffix or 'no extension'}'; "
                                  f"supported: {', '.join(e[1:] for e in AUDIO_EXTENSIONS)}")
        output = str(self.plan.output_for(rel))
        owner = next((r for r in self._active_rels() if str(self.plan.output_for(r)) == output), None) \
            or self.journal.owner_of_output(output, rel)
        if owner is not None and (self.plan.in_dir / owner).exists():
            return self._fail_now(rel, content_hash, f"its output {output} is already made from {owner}; "
                                  "rename one of the two inputs")
        self.backlog.append((rel, content_hash))
        if self.display:
            self.display.file_queued(rel)
        self._fill()
        return None

    def update_index(self) -> None:
        """Rewrite OUT_DIR/index.html from the journal, so the page follows the queue as files complete."""
        if not self.plan.report:
            return
        from ..report import IndexEntry, write_index

        entries = []
        for row in self.journal.all():
            report = self.plan.report_dir_for(row.input)
            has_report = row.status == DONE and report is not None and (report / "report.html").exists()
            status = {INTERRUPTED: "queued"}.get(row.status, row.status)
            entries.append(IndexEntry(str(self.plan.in_dir / row.input), status, list(row.outputs),
                                      str(report) if has_report else None, message=row.error or "", seconds=row.seconds))
        write_index(self.plan.out_dir, entries, title=f"audiostyle — {self.plan.graph_path.name} over {self.plan.in_dir.name}")

    def _fail_now(self, rel: str, content_hash: str, reason: str) -> FileResult:
        self.journal.start(rel, content_hash, self.plan.graph_hash)
        return self._record(JobOutcome(rel, False, error=reason), time.time())

    # -- running ----------------------------------------------------------------------------------
    def _fill(self) -> None:
        while self.backlog and len(self.in_flight) < self.executor.capacity:
            rel, content_hash = self.backlog.pop(0)
            self.journal.start(rel, content_hash, self.plan.graph_hash, str(self.plan.output_for(rel)))
            self.update_index()
            if self.display:
                self.display.file_started(rel)
            started = time.time()
            try:
                future = self.executor.submit(self.plan.job(rel))
            except Exception as exc:  # the executor itself broke; this file fails, the queue goes on
                future = Future()
                future.set_exception(exc)
            self.in_flight[future] = (rel, content_hash, started)

    def pump(self, timeout: float = 0.2) -> None:
        """Wait up to ``timeout`` for jobs to finish, record them, start waiting ones."""
        self._fill()
        if self.in_flight:
            done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                rel, _, started = self.in_flight.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:
                    outcome = JobOutcome(rel, False, error=f"worker failed: {type(exc).__name__}: {one_line(exc)}",
                                         seconds=time.time() - started)
                self._record(outcome, started)
            self._fill()
        elif timeout:
            time.sleep(timeout)
        if self.display:
            for event in getattr(self.executor, "progress_events", lambda: [])():
                self.display.node_progress(*event)
            self.display.tick(len(self.in_flight), len(self.backlog))

    def drain(self) -> None:
        while self.backlog or self.in_flight:
            self.pump()

    def stop_taking_work(self) -> None:
        """Waiting files are left for the next start (catch-up), running ones are let finish."""
        self.backlog.clear()

    def _record(self, outcome: JobOutcome, started: float) -> FileResult:
        plan = self.plan
        error_file = plan.error_path_for(outcome.rel)
        if outcome.ok:
            with contextlib.suppress(FileNotFoundError):
                error_file.unlink()  # a stale reason from an earlier version of this input
            status = DONE
        else:
            status = FAILED
            source = str(plan.in_dir / outcome.rel)
            reason = outcome.error if source in (outcome.error or "") else f"{source}: {outcome.error}"
            write_text_atomic(error_file, reason + "\n")
        self.journal.finish(outcome.rel, status, outcome.seconds, outcome.outputs, outcome.error, outcome.audio_seconds)
        self.update_index()
        result = FileResult(outcome.rel, status, outcome.seconds, outcome.audio_seconds, outcome.outputs, outcome.error)
        self.results.append(result)
        if self.display:
            self.display.file_finished(result, outcome.warnings)
        return result


def _hash_or_none(path: Path) -> str | None:
    try:
        return file_hash(path)
    except OSError:
        return None  # offer() hashes again and reports the reason


def run_batch(plan: Plan, files: list[Path], executor, display=None, retry_failed: bool = False) -> list[FileResult]:
    coordinator = Coordinator(plan, executor, display, retry_failed)
    try:
        if display:
            display.begin(len(files), coordinator.swept, coordinator.interrupted,
                          len(coordinator.recovered))
        # Hashing the next files on a helper thread overlaps with processing (both release the GIL).
        with ThreadPoolExecutor(1, thread_name_prefix="audiostyle-hash") as hasher:
            for path, content_hash in zip(files, hasher.map(_hash_or_none, files)):
                coordinator.offer(path, content_hash)
                coordinator.pump(timeout=0)
        coordinator.drain()
        return coordinator.results
    finally:
        coordinator.close()


def summarize(results: list[FileResult], seconds: float) -> dict:
    done = [r for r in results if r.status == DONE]
    audio = sum(r.audio_seconds or 0.0 for r in done)
    return {"files": len(results), "done": len(done), "failed": sum(r.status == FAILED for r in results),
            "failed_earlier": sum(r.status == FAILED and r.earlier for r in results),
            "skipped": sum(r.status == "skipped" for r in results), "seconds": seconds,
            "files_per_minute": 60.0 * len(done) / seconds if seconds > 0 else 0.0,
            "audio_seconds": audio, "realtime": audio / seconds if seconds > 0 else 0.0}
