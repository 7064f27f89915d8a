"""Batch processing of a folder: which files, where their outputs go, and the coordinator that feeds
an executor and keeps the journal. Watch mode drives the same coordinator from file events.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..audio_io import EXTENSIONS as AUDIO_EXTENSIONS
from ..errors import BatchSetupError
from .job import JobOutcome, JobSpec, check_confined, one_line
from .journal import DONE, FAILED, INTERRUPTED, Journal, file_hash

# Files that are still being written by browsers, editors and copy tools, or that are not user files.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", "~", ".crdownload", ".download", ".swp", ".!ut")
IGNORED_NAMES = ("Thumbs.db", "desktop.ini", "Icon\r")
LOCK_NAME = ".audiostyle.lock"
ERROR_SUFFIX = ".error.txt"
REPORTS_FOLDER = "reports"  # OUT_DIR/reports/<input path without extension>/report.html


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES) or name in IGNORED_NAMES or ".partial." in name


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([root, path]) == root


def iter_inputs(in_dir: Path, warn=None):
    """Regular files under in_dir, sorted, without hidden/temporary files and hidden folders.
    Symlinked folders are not entered; a symlinked file is taken only when it points inside in_dir."""
    root = os.path.realpath(in_dir)
    for dirpath, dirnames, filenames in os.walk(in_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_ignored(name):
                continue
            path = Path(dirpath) / name
            if not _inside(os.path.realpath(path), root):  # a symlink (or a symlinked folder) leading out
                if warn:
                    warn(f"skipped {path}: it is a symlink leading out of {in_dir}")
                continue
            if path.is_file():
                yield path


def expand_inputs(pattern: str, files_from: str | None = None, warn=None) -> tuple[Path, list[Path]]:
    """IN_DIR, a quoted glob ('stems/**/*.wav'), optionally narrowed by a list file → (root, files)."""
    if any(c in pattern for c in "*?["):
        parts = Path(pattern).parts
        first_magic = next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))
        root = Path(*parts[:first_magic]) if first_magic else Path(".")
        if not root.is_dir():
            raise BatchSetupError(f"the folder {root} of pattern {pattern} does not exist")
        candidates = set(iter_inputs(root, warn))  # the same hidden/temp/symlink rules as for a folder
        files = sorted(p for p in map(Path, glob.glob(pattern, recursive=True)) if p in candidates)
    else:
        root = Path(pattern)
        if not root.is_dir():
            raise BatchSetupError(f"input folder {pattern} does not exist or is not a folder; "
                                  "give a folder of audio files or a quoted glob such as 'stems/*.wav'")
        files = list(iter_inputs(root, warn))
    if files_from:
        try:
            wanted = [line.strip() for line in Path(files_from).read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise BatchSetupError(f"cannot read --files-from {files_from}: {exc.strerror}") from None
        present = {p.relative_to(root).as_posix(): p for p in files}
        picked = []
        for entry in (w for w in wanted if w and not w.startswith("#")):
            rel = os.path.relpath(entry, root) if os.path.isabs(entry) else entry
            rel = Path(rel).as_posix()
            if rel not in present:
                raise BatchSetupError(f"--files-from {files_from}: {entry} is not an audio file inside {root}; "
                                      "list paths relative to the input folder")
            picked.append(present[rel])
        files = picked
    return root, files


@dataclass
class Plan:
    """What every job shares: the graph, the variables, the output naming, and the graph's hash."""

    graph_path: Path
    in_dir: Path
    out_dir: Path
    bind: str = "content"
    sets: dict = field(default_factory=dict)
    out_ext: str = ".wav"
    device: str = "auto"
    seed: int | None = None
    graph_hash: str = ""
    exclusive_device: bool = False
    output_count: int = 1  # files the graph writes per input
    report: bool = False  # a report per input under OUT_DIR/reports/, and OUT_DIR/index.html
    graph: object = None  # the Graph, validated once (with a stand-in input); each job binds its own paths
    text_hash: str = ""  # of the graph file's text: watch stops when the file changes under it

    @classmethod
    def create(cls, graph_path, in_dir, out_dir, bind="content", sets=None, fmt=None, device="auto", seed=None,
               report=False):
        from ..graph import validate_document
        from ..run import default_registry
        from ..yaml_source import load_document

        graph_path = Path(graph_path).absolute()
        in_dir, out_dir = Path(in_dir).absolute(), Path(out_dir).absolute()
        sets = dict(sets or {})
        if not graph_path.is_file():
            raise BatchSetupError(f"graph file {graph_path} not found")
        if bind == "out" or bind in sets or "out" in sets:
            raise BatchSetupError(f"${{{bind}}} and ${{out}} are bound to each file in batch and watch modes; "
                                  "do not --set them")
        real_in, real_out = os.path.realpath(in_dir), os.path.realpath(out_dir)
        if _inside(real_out, real_in) or _inside(real_in, real_out):
            raise BatchSetupError(f"input folder {in_dir} and output folder {out_dir} overlap; "
                                  "use an output folder outside the input folder")
        # The graph is read, parsed and validated once, here, with stand-in paths; each job binds its
        # own input and output to it (Graph.bind), so a batch of N files parses the file once.
        text = graph_path.read_text(encoding="utf-8")
        probe_in = in_dir / ("probe" + AUDIO_EXTENSIONS[0])
        doc = load_document(graph_path, {**sets, bind: probe_in, "out": out_dir / "probe.wav"}, text=text)
        for name in (bind, "out"):
            if name in doc.unused_overrides:
                raise BatchSetupError(f"{graph_path}: the graph does not use ${{{name}}}; batch and watch bind each "
                                      f"input to ${{{bind}}} and its output to ${{out}}" +
                                      (" (pick the input variable with --bind NAME)" if name == bind else ""))
        out_ext = fmt or Path(str(doc.defaults.get("out", ""))).suffix.lower()
        if out_ext and not out_ext.startswith("."):
            out_ext = "." + out_ext
        if out_ext not in AUDIO_EXTENSIONS:
            if fmt:
                raise BatchSetupError(f"--format {fmt} is not one of {', '.join(AUDIO_EXTENSIONS)}")
            out_ext = ".wav"
        graph = validate_document(doc, default_registry(), check_files=False)
        graph = graph.bind({"out": out_dir / ("probe" + out_ext)}, check_files=False)  # the outputs' real format
        plan = cls(graph_path, in_dir, out_dir, bind, sets, out_ext, device, seed, report=report, graph=graph)
        check_confined(graph, str(out_dir))
        plan.exclusive_device = graph.needs_exclusive_device()
        plan.output_count = len(graph.params_of_type("out_path"))
        # The graph's other input files (a style clip, an impulse response) are part of what it computes.
        side_inputs = {}
        for node_id, param, value in graph.params_of_type("path"):
            if value == str(probe_in):
                continue
            if not os.path.isfile(value):
                raise BatchSetupError(f"{graph_path}: node '{node_id}': input file not found: {value}; "
                                      "check the path or pass --set with an existing file")
            side_inputs[f"{node_id}.{param}"] = file_hash(value)
        plan.text_hash = text_hash(text)
        canon = json.dumps({"graph": text, "sets": sets, "bind": bind, "ext": out_ext, "side": side_inputs,
                            "version": __version__, "seed": seed}, sort_keys=True, default=str)
        plan.graph_hash = hashlib.blake2b(canon.encode(), digest_size=8).hexdigest()
        return plan

    def rel(self, path: Path) -> str:
        return path.absolute().relative_to(self.in_dir).as_posix()

    def output_for(self, rel: str) -> Path:
        r = Path(rel)
        return self.out_dir / r.parent / (r.stem + self.out_ext)

    def report_dir_for(self, rel: str) -> Path | None:
        if not self.report:
            return None
        r = Path(rel)
        return self.out_dir / REPORTS_FOLDER / r.parent / r.stem

    def error_path_for(self, rel: str) -> Path:
        r = Path(rel)
        return self.out_dir / r.parent / (r.name + ERROR_SUFFIX)

    def job(self, rel: str) -> JobSpec:
        out = self.output_for(rel)
        report_dir = self.report_dir_for(rel)
        return JobSpec(rel, str(self.in_dir / rel), str(out), self.graph, {self.bind: self.in_dir / rel, "out": out},
                       str(self.out_dir), self.device, self.seed, self.exclusive_device,
                       report_dir=str(report_dir) if report_dir else None)


class OutputFolderLock:
    """One coordinator per output folder: a second batch/watch on it would break exactly-once."""

    def __init__(self, out_dir: Path):
        import fcntl

        out_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(out_dir / LOCK_NAME, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise BatchSetupError(f"another audiostyle batch or watch is already writing to {out_dir}; "
                                  "wait for it or stop it first") from None

    def release(self) -> None:
        self._file.close()


def sweep_partials(out_dir: Path) -> int:
    """Staged outputs left by a killed run (never complete: they are renamed into place only on success)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(out_dir):
        for name in filenames:
            if name.startswith(".") and (".partial." in name or name.endswith(".partial")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    count += 1
        # Report folders are staged as hidden '.NAME.TOKEN.partial' (or '.old') folders and swapped in whole.
        for name in list(dirnames):
            if name.startswith(".") and name.endswith((".partial", ".old")):
                shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
                dirnames.remove(name)
                count += 1
    return count


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


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
