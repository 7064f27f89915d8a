"""Run one node on given inputs, without a graph file."""
from __future__ import annotations

from pathlib import Path

from audiostyle_engine.executor import NodeContext, RunState


class _Graph:
    order = ["node"]


def run_node(cls, inputs: dict | None = None, device: str = "cpu", seed: int | None = 0, **params):
    """Instantiate ``cls`` with its defaults overridden by ``params`` and process ``inputs``.

    Returns (outputs, records, written paths)."""
    full = {p.name: p.default for p in cls.spec.params if not p.required}
    full.update(params)
    state = RunState(_Graph(), [])
    ctx = NodeContext("node", cls.spec.type_name, device, seed, None, state)
    outputs = cls(full, "node").process(ctx, **(inputs or {}))
    written: list[Path] = state.stage.commit()
    return outputs, state.records.get("node", {}), written
