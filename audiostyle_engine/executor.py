"""Runs a validated graph: topological order, intermediates freed after their last consumer,
progress hooks, and outputs committed only when the whole run succeeded.

Knows no YAML and no concrete node.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import AudiostyleError, NodeFailed
from .graph import Graph
from .provenance import SUFFIX as SIDECAR_SUFFIX
from .provenance import describe_run, sidecar_path, sidecar_text


@dataclass
class ProgressEvent:
    node_id: str
    node_type: str
    node_index: int  # 1-based position in the run order
    node_count: int
    done: float | None = None  # units of work done in this node, None when unknown
    total: float | None = None
    message: str = ""
    finished: bool = False
    elapsed: float = 0.0  # seconds since this node started
    values: dict = field(default_factory=dict)  # numbers a node reports with its progress, e.g. loss

    @property
    def eta(self) -> float | None:
        """Seconds left in this node at its average rate so far, when that can be known."""
        if self.done is None or not self.total or self.done <= 0 or self.finished:
            return None
        return self.elapsed * max(0.0, self.total - self.done) / self.done


ProgressHook = Callable[[ProgressEvent], None]


class OutputStage:
    """Outputs are written to hidden temp files beside their destination and renamed into place
    only after every node succeeded, so a failed run leaves no output, whole or partial."""

    def __init__(self):
        self._staged: list[tuple[Path, Path]] = []

    def temp_path(self, final: str | os.PathLike) -> Path:
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        # The temp name keeps the extension so writers pick the format; the leading dot and
        # '.partial' marker keep watch folders and globbing users from picking it up.
        temp = final.with_name(f".{final.stem}.{secrets.token_hex(4)}.partial{final.suffix}")
        self._staged.append((temp, final))
        return temp

    def commit(self) -> list[Path]:
        done = []
        for temp, final in self._staged:
            os.replace(temp, final)
            done.append(final)
        self._staged.clear()
        return done

    def staged(self) -> list[tuple[Path, Path]]:
        """(temp, final) for every output written so far."""
        return list(self._staged)

    def discard(self) -> None:
        for temp, _ in self._staged:
            try:
                temp.unlink()
            except FileNotFoundError:
                pass
        self._staged.clear()


@dataclass
class NodeContext:
    """What a node may use while it runs. Nodes never look at the CLI or probe devices."""

    node_id: str
    node_type: str
    device: str
    seed: int | None
    cache_dir: Path | None
    _run: "RunState"

    def progress(self, done: float | None = None, total: float | None = None, message: str = "", **values) -> None:
        """Report work done; ``values`` are numbers for machine-readable progress (e.g. loss=1.5)."""
        self._run.emit(self, done, total, message, values=values)

    def record(self, key: str, value: Any) -> None:
        """Keep a result beside the outputs (loss history, metrics) for reports and callers."""
        self._run.records.setdefault(self.node_id, {})[key] = value

    def output_path(self, final: str | os.PathLike) -> Path:
        """A temp path to write ``final`` to; it is renamed into place when the run succeeds."""
        return self._run.stage.temp_path(final)

    def warn(self, message: str) -> None:
        self._run.warnings.append(f"{self.node_id}: {message}")


@dataclass
class RunState:
    graph: Graph
    hooks: list[ProgressHook]
    stage: OutputStage = field(default_factory=OutputStage)
    records: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    node_started: dict[str, float] = field(default_factory=dict)

    def emit(self, ctx: NodeContext, done, total, message, finished=False, values=None):
        if not self.hooks:
            return
        event = ProgressEvent(ctx.node_id, ctx.node_type, self.graph.order.index(ctx.node_id) + 1,
                              len(self.graph.order), done, total, message, finished,
                              time.perf_counter() - self.node_started.get(ctx.node_id, time.perf_counter()),
                              dict(values or {}))
        for hook in self.hooks:
            hook(event)


@dataclass
class RunResult:
    outputs: list[Path]  # files written, in place
    records: dict[str, dict]  # node id -> what the node recorded
    timings: dict[str, float]  # node id -> seconds
    values: dict[str, dict[str, Any]]  # node id -> port -> value, for the nodes asked to keep
    warnings: list[str]
    device: str
    seconds: float
    report: Path | None = None  # the report page, when run_graph was asked for one
    metrics: dict | None = None  # that report's numbers (metrics.json)


def execute(graph: Graph, *, device: str = "cpu", seed: int | None = None, cache_dir: Path | None = None,
            hooks: list[ProgressHook] | None = None, keep: set[str] | None = None,
            provenance: bool = True) -> RunResult:
    """Run every node once, in order. ``keep`` names nodes whose output values are returned.
    ``provenance`` writes a sidecar beside each output (see provenance.py), committed with it."""
    run = RunState(graph, list(hooks or []))
    values: dict[tuple[str, str], Any] = {}
    remaining_uses: dict[tuple[str, str], int] = {}
    for e in graph.edges:
        remaining_uses[(e.src_node, e.src_port)] = remaining_uses.get((e.src_node, e.src_port), 0) + 1
    kept: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    t_run = time.perf_counter()
    try:
        for node_id in graph.order:
            decl = graph.nodes[node_id]
            cls = graph.classes[node_id]
            node = cls(dict(decl.params), node_id)
            ctx = NodeContext(node_id, decl.type, device, seed, cache_dir, run)
            inputs = {e.dst_port: values[(e.src_node, e.src_port)] for e in graph.inputs_of(node_id)}
            run.node_started[node_id] = t0 = time.perf_counter()
            run.emit(ctx, None, None, "started")
            try:
                outputs = node.process(ctx, **inputs) or {}
            except AudiostyleError as exc:
                raise NodeFailed(f"{graph.file}: node '{node_id}' ({decl.type}): {exc}") from exc
            timings[node_id] = time.perf_counter() - t0
            run.emit(ctx, None, None, "done", finished=True)
            declared = {p.name for p in cls.spec.outputs}
            if set(outputs) - declared:
                raise RuntimeError(f"node type {decl.type} returned undeclared outputs {sorted(set(outputs) - declared)}")
            for port, value in outputs.items():
                if remaining_uses.get((node_id, port)):
                    values[(node_id, port)] = value
            if keep and node_id in keep:
                kept[node_id] = outputs
            del inputs, outputs
            for e in graph.inputs_of(node_id):
                key = (e.src_node, e.src_port)
                remaining_uses[key] -= 1
                if remaining_uses[key] == 0:
                    values.pop(key, None)  # freed after its last consumer
        if provenance:
            _stage_sidecars(run, graph, device, seed)
        written = run.stage.commit()
    except BaseException:
        run.stage.discard()
        raise
    outputs = [p for p in written if not p.name.endswith(SIDECAR_SUFFIX)]
    return RunResult(outputs, run.records, timings, kept, run.warnings, device, time.perf_counter() - t_run)


def _stage_sidecars(run: RunState, graph: Graph, device: str, seed: int | None) -> None:
    staged = run.stage.staged()
    if not staged:
        return
    info = describe_run(graph, run.records, device, seed)
    for temp, final in staged:
        sidecar = run.stage.temp_path(sidecar_path(final))
        sidecar.write_text(sidecar_text(info, final, temp), encoding="utf-8")
