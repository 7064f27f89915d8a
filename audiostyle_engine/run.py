"""One call that loads, validates and runs a graph file: what the CLI, batch and watch modes share."""
from __future__ import annotations

from pathlib import Path

from .device import resolve_device
from .executor import ProgressHook, RunResult, execute
from .graph import Graph, load_graph
from .registry import Registry, default_registry


def prepare(graph_path: str | Path, variables: dict | None = None, registry: Registry | None = None,
            check_files: bool = True) -> Graph:
    return load_graph(graph_path, registry or default_registry(), variables, check_files=check_files)


def run_graph(graph_path: str | Path, variables: dict | None = None, *, device: str = "auto", seed: int | None = None,
              hooks: list[ProgressHook] | None = None, registry: Registry | None = None,
              keep: set[str] | None = None, cache_dir: Path | None = None, provenance: bool = True) -> RunResult:
    graph = prepare(graph_path, variables, registry)
    return execute(graph, device=resolve_device(device), seed=seed, hooks=hooks, keep=keep, cache_dir=cache_dir,
                   provenance=provenance)
