"""The composition root: the one place that assembles the engine — the registry of the built-in nodes,
the device, the report and the provenance sidecars — and so the one way to run a graph.

`audiostyle run`, every batch and watch job (inline, in a pool process, on Ray), the benchmarks and the
tests call ``run_graph``. It is also the only engine module that imports ``nodes`` (a test holds that).
"""
from __future__ import annotations

import os
from pathlib import Path

from .device import resolve_device
from .executor import ProgressHook, RunResult, execute
from .graph import Graph, validate_document
from .registry import Registry, with_entry_points
from .yaml_source import load_document


def default_registry() -> Registry:
    """The built-in nodes of ``nodes/`` plus any installed through the ``audiostyle.nodes`` entry point group."""
    import nodes

    registry = Registry()
    for cls in nodes.NODE_CLASSES:
        registry.register(cls)
    return with_entry_points(registry)


def prepare(graph_path: str | Path, variables: dict | None = None, registry: Registry | None = None,
            check_files: bool = True, text: str | None = None) -> Graph:
    """Read, substitute and validate a graph file once (``text``: its contents, when already read)."""
    doc = load_document(graph_path, variables, text=text)
    return validate_document(doc, registry or default_registry(), check_files=check_files)


def run_graph(graph: Graph | str | Path, variables: dict | None = None, *, device: str = "auto",
              seed: int | None = None, hooks: list[ProgressHook] | None = None, registry: Registry | None = None,
              keep: set[str] | None = None, cache_dir: Path | None = None, provenance: bool = True,
              report: str | os.PathLike | bool | None = False, title: str | None = None) -> RunResult:
    """Run a graph file, or a validated graph (``variables`` are then bound to it without a new parse).

    ``device`` is a request (auto, cpu, cuda[:N]), resolved here and only for graphs with a node that
    computes on a device, so FX-only graphs never import torch. ``report``: False for none, a folder,
    or None for the graph's own ``report:`` setting; the report's page and metrics come back on the result.
    """
    if not isinstance(graph, Graph):
        graph = prepare(graph, variables, registry)
    elif variables:
        graph = graph.bind(variables)
    device = resolve_device(device) if graph.uses_device() else "cpu"
    if report is False:
        return execute(graph, device=device, seed=seed, hooks=hooks, keep=keep, cache_dir=cache_dir,
                       provenance=provenance)
    from .report import run_with_report

    reported = run_with_report(graph, report, use_graph_report=report is None, device=device, seed=seed,
                               hooks=hooks, keep=keep, cache_dir=cache_dir, title=title, provenance=provenance)
    result = reported.result
    result.report, result.metrics = reported.report, reported.metrics
    return result
