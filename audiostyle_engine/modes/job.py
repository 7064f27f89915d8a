"""One file through the graph: what a worker (inline, pool process or Ray task) runs.

Workers only compute and write outputs (staged, renamed on success); the coordinator owns the
journal and the error files. Everything here is picklable and imports nothing heavy at module level.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AudiostyleError, UnsafeOutputError


CACHE_FOLDER = ".audiostyle-cache"  # style targets shared by the jobs of one output folder


@dataclass(frozen=True)
class JobSpec:
    rel: str  # the input's path relative to the input folder: the journal key
    input_path: str
    output_path: str  # what ${out} is bound to
    graph: object  # the Graph, loaded and validated once for the whole batch or watch run (--set applied)
    bindings: dict  # this input's values for the graph's variables: the input and its output, as Paths
    out_dir: str
    device: str = "auto"
    seed: int | None = None
    exclusive_device: bool = False  # the graph has a node that fills a GPU (style transfer)
    lock_gpu: bool = True  # False where a scheduler (Ray) already hands out whole GPUs
    report_dir: str | None = None  # write this input's HTML report there


@dataclass
class JobOutcome:
    rel: str
    ok: bool
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    audio_seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    device: str = ""


# Set in each pool process by worker_init; the inline executor passes its reporter directly.
_progress_queue = None
_threads: int | None = None


def one_line(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    return text or type(exc).__name__


def check_confined(graph, out_dir: str) -> None:
    """Refuse any output param that resolves outside out_dir (a '..' or absolute path in the graph,
    or a symlinked sub-folder of out_dir pointing elsewhere)."""
    root = os.path.realpath(out_dir)
    for node_id, param, value in graph.params_of_type("out_path"):
        if ".." in Path(value).parts:
            raise UnsafeOutputError(f"{graph.file}: node '{node_id}': output path {value} contains '..'; "
                                    "batch and watch outputs must stay inside the output folder")
        real = os.path.realpath(value)
        if os.path.commonpath([root, real]) != root:
            raise UnsafeOutputError(f"{graph.file}: node '{node_id}': output path {value} is outside the output "
                                    f"folder {out_dir}; use ${{out}} or a path relative to it")


@contextlib.contextmanager
def gpu_slot(device: str, count: int | None = None, lock_dir: str | None = None):
    """Hold one GPU for the length of a job (machine-wide file lock), so at most one heavy job runs per
    GPU at a time. 'cuda' takes whichever GPU is free first; 'cuda:N' waits for that one."""
    import fcntl

    if count is None:
        import torch

        count = torch.cuda.device_count()
    indices = [int(device.partition(":")[2])] if ":" in device else list(range(count))
    lock_dir = Path(lock_dir or tempfile.gettempdir())
    handles = [open(lock_dir / f"audiostyle-gpu{i}.lock", "a+") for i in indices]
    try:
        chosen = None
        for i, h in zip(indices, handles):
            try:
                fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)
                chosen = (i, h)
                break
            except BlockingIOError:
                continue
        if chosen is None:  # all busy: queue on one, spread by process id
            k = os.getpid() % len(indices)
            fcntl.flock(handles[k], fcntl.LOCK_EX)
            chosen = (indices[k], handles[k])
        yield f"cuda:{chosen[0]}"
    finally:
        for h in handles:
            h.close()  # closing releases the lock


def input_seconds(graph, input_path: str) -> float | None:
    """How much audio of the input the graph works on, from the facts validation read from its header
    (the stream of the node that reads ``input_path``): no extra opening of the file."""
    for node_id, _, value in graph.params_of_type("path"):
        if value == input_path:
            for port in graph.spec_of(node_id).outputs:
                info = graph.streams.get((node_id, port.name))
                if info is not None and info.frames is not None and info.sample_rate:
                    return info.frames / info.sample_rate
    return None


def run_job(spec: JobSpec, report=None) -> JobOutcome:
    """Process one input. Every failure the user can cause comes back as a one-line reason."""
    from ..device import resolve_device
    from ..run import run_graph

    t0 = time.perf_counter()
    hooks = [_Reporter(spec.rel, report)] if report is not None or _progress_queue is not None else []
    try:
        if _threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(_threads)
        graph = spec.graph.bind(spec.bindings)  # the batch's validated graph, this file's paths: no parse
        check_confined(graph, spec.out_dir)
        # One cache per output folder: every file of a batch or watch folder with one style pays for it once.
        options = dict(seed=spec.seed, hooks=hooks, cache_dir=Path(spec.out_dir) / CACHE_FOLDER,
                       report=spec.report_dir or False, title=spec.rel)
        device = spec.device
        if spec.lock_gpu and graph.needs_exclusive_device() and (device := resolve_device(device)).startswith("cuda"):
            with gpu_slot(device) as device:
                result = run_graph(graph, device=device, **options)
        else:
            result = run_graph(graph, device=device, **options)
    except AudiostyleError as exc:
        return JobOutcome(spec.rel, False, error=one_line(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # a bug or a resource problem (MemoryError): record it, keep the queue going
        return JobOutcome(spec.rel, False, error=f"internal error: {type(exc).__name__}: {one_line(exc)}",
                          seconds=time.perf_counter() - t0)
    return JobOutcome(spec.rel, True, [str(p) for p in result.outputs], None, time.perf_counter() - t0,
                      input_seconds(graph, spec.input_path), result.warnings, result.device)


class _Reporter:
    """Forwards node progress of one job to the coordinator, at most ~5 times a second."""

    def __init__(self, rel: str, report):
        self.rel = rel
        self.report = report
        self._last = 0.0

    def __call__(self, e) -> None:
        now = time.monotonic()
        if not e.finished and e.message != "started" and now - self._last < 0.2:
            return
        self._last = now
        item = (self.rel, e.node_index, e.node_count, e.node_id, e.done, e.total)
        if self.report is not None:
            self.report(item)
        elif _progress_queue is not None:
            with contextlib.suppress(Exception):
                _progress_queue.put_nowait(item)


def worker_init(threads: int, progress_queue=None) -> None:
    """Runs once in each pool process, before any job."""
    global _progress_queue, _threads
    _progress_queue = progress_queue
    _threads = threads
    # Split the cores: N workers × all-core BLAS/torch pools would fight each other.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(threads)
    # Ctrl-C goes to the whole process group; the coordinator decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()


def _die_with_parent() -> None:
    """After a kill -9 of the coordinator no orphan keeps writing into the output folder."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(Exception):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
