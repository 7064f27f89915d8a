"""Which signals of a graph a report shows, and so which node outputs the executor must keep.

The engine keeps any node's outputs when asked (``keep=``) and knows no node types; this
presentation layer does know them, by type name only: ``load`` and ``write`` nodes, the
``style_transfer`` and ``feature_style`` nodes' content and style, and the two inputs of a ``mix`` (dry/wet branches).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Graph
from ..payloads import PortKind
from .media import unique_key

STYLE_NODES = ("style_transfer", "feature_style")  # nodes with a content and a style input
ROLE_ORDER = ("content", "style", "input", "styled", "branch", "output")


@dataclass(frozen=True)
class Signal:
    """One audio signal the report plays and draws: node ``node``'s output ``port``."""

    key: str  # unique, safe as a file name
    role: str  # content, style, styled, output, branch, input
    label: str
    node: str
    port: str


@dataclass(frozen=True)
class StyleNodePlan:
    node: str
    content: Signal | None
    style: Signal | None
    styled: Signal | None  # first audio made from the styled spectrogram (e.g. istft)


@dataclass
class ReportPlan:
    signals: list[Signal] = field(default_factory=list)
    style_nodes: list[StyleNodePlan] = field(default_factory=list)

    @property
    def keep(self) -> set[str]:
        return {s.node for s in self.signals}

    def by_role(self, role: str) -> list[Signal]:
        return [s for s in self.signals if s.role == role]


def plan_report(graph: Graph) -> ReportPlan:
    plan = ReportPlan()
    seen: dict[tuple[str, str], Signal] = {}

    def add(node: str, port: str, role: str, label: str) -> Signal:
        if (node, port) in seen:
            return seen[(node, port)]
        key = unique_key(f"{role}_{node}", {s.key for s in plan.signals})
        signal = Signal(key, role, label, node, port)
        seen[(node, port)] = signal
        plan.signals.append(signal)
        return signal

    for node_id in graph.order:
        if graph.nodes[node_id].type not in STYLE_NODES:
            continue
        found = {}
        for port in ("content", "style"):
            source = _audio_upstream(graph, node_id, port)
            found[port] = add(*source, port, f"{port} (as '{node_id}' hears it: {source[0]})") if source else None
        downstream = _audio_downstream(graph, node_id)
        styled = add(*downstream, "styled", f"styled by '{node_id}' ({downstream[0]})") if downstream else None
        plan.style_nodes.append(StyleNodePlan(node_id, found["content"], found["style"], styled))

    for node_id in graph.order:
        decl = graph.nodes[node_id]
        if decl.type == "mix":
            for e in graph.inputs_of(node_id):
                add(e.src_node, e.src_port, "branch", f"'{node_id}' input {e.dst_port} ({e.src_node})")
        elif decl.type == "write":
            for e in graph.inputs_of(node_id):
                add(e.src_node, e.src_port, "output", f"output {decl.params.get('path')} ({e.src_node})")

    # Loaded files are shown only when nothing derived from them already is (content and style
    # are the same recordings after mono/resample/trim, as the optimiser saw them).
    shown_upstream = set()
    for s in plan.by_role("content") + plan.by_role("style"):
        shown_upstream |= _ancestors(graph, s.node)
    for node_id in graph.order:
        decl = graph.nodes[node_id]
        if decl.type == "load" and node_id not in shown_upstream and (node_id, "audio") not in seen:
            add(node_id, "audio", "input", f"input {decl.params.get('path')} ({node_id})")
    plan.signals.sort(key=lambda s: ROLE_ORDER.index(s.role))  # sources first, then what was made of them
    return plan


def _output_kind(graph: Graph, node: str, port: str) -> PortKind | None:
    out = graph.spec_of(node).output(port)
    return out.kind if out else None


def _audio_upstream(graph: Graph, node: str, port: str) -> tuple[str, str] | None:
    """The nearest audio output feeding ``node.port``, through spectral nodes (e.g. stft)."""
    frontier = [(e.src_node, e.src_port) for e in graph.inputs_of(node) if e.dst_port == port]
    visited = set()
    while frontier:
        src, src_port = frontier.pop(0)
        if (src, src_port) in visited:
            continue
        visited.add((src, src_port))
        if _output_kind(graph, src, src_port) == PortKind.AUDIO:
            return src, src_port
        frontier += [(e.src_node, e.src_port) for e in graph.inputs_of(src)]
    return None


def _audio_downstream(graph: Graph, node: str) -> tuple[str, str] | None:
    frontier = [e.dst_node for e in graph.consumers(node)]
    visited = set()
    while frontier:
        dst = frontier.pop(0)
        if dst in visited:
            continue
        visited.add(dst)
        audio_out = [o.name for o in graph.spec_of(dst).outputs if o.kind == PortKind.AUDIO]
        if audio_out:
            return dst, audio_out[0]
        frontier += [e.dst_node for e in graph.consumers(dst)]
    return None


def _ancestors(graph: Graph, node: str) -> set[str]:
    out, frontier = set(), [node]
    while frontier:
        for e in graph.inputs_of(frontier.pop()):
            if e.src_node not in out:
                out.add(e.src_node)
                frontier.append(e.src_node)
    return out
