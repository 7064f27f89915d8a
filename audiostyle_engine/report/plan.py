"""Which signals of a graph a report shows, and so which node outputs the executor must keep.

Reads only what nodes declare in their spec (``NodeSpec.report``: sources, what they make, branches,
written and read files); it knows no node type by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Graph
from ..payloads import PortKind
from .media import unique_key

ROLE_ORDER = ("content", "style", "input", "styled", "branch", "output")  # sources first, then what was made


def _rank(role: str) -> int:
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else ROLE_ORDER.index("input")


@dataclass(frozen=True)
class Signal:
    """One audio signal the report plays and draws: node ``node``'s output ``port``."""

    key: str  # unique, safe as a file name
    role: str  # content, style, styled, output, branch, input
    label: str
    node: str
    port: str


@dataclass(frozen=True)
class SourcedNode:
    """A node with declared sources (e.g. style transfer: content and style) and what it made of them."""

    node: str
    sources: dict  # source role (the input port's name) -> Signal, or None when no audio feeds it
    made: Signal | None  # first audio made from its output downstream (e.g. the istft after style transfer)

    def source(self, role: str) -> Signal | None:
        return self.sources.get(role)


@dataclass
class ReportPlan:
    signals: list[Signal] = field(default_factory=list)
    sourced: list[SourcedNode] = field(default_factory=list)

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
        roles = graph.spec_of(node_id).report
        if not roles.sources:
            continue
        found = {}
        for port in roles.sources:
            source = _audio_upstream(graph, node_id, port)
            found[port] = add(*source, port, f"{port} (as '{node_id}' hears it: {source[0]})") if source else None
        downstream = _audio_downstream(graph, node_id) if roles.makes else None
        made = add(*downstream, roles.makes, f"{roles.makes} by '{node_id}' ({downstream[0]})") if downstream else None
        plan.sourced.append(SourcedNode(node_id, found, made))

    for node_id in graph.order:
        decl, roles = graph.nodes[node_id], graph.spec_of(node_id).report
        if roles.branches:
            for e in graph.inputs_of(node_id):
                add(e.src_node, e.src_port, "branch", f"'{node_id}' input {e.dst_port} ({e.src_node})")
        elif roles.writes:
            for e in graph.inputs_of(node_id):
                add(e.src_node, e.src_port, "output", f"output {decl.params.get(roles.writes)} ({e.src_node})")

    # Files read in are shown only when nothing derived from them already is (the sources are the same
    # recordings after mono/resample/trim, as the node that uses them saw them).
    shown_upstream = set()
    for sourced in plan.sourced:
        for s in sourced.sources.values():
            if s is not None:
                shown_upstream |= _ancestors(graph, s.node)
    for node_id in graph.order:
        decl, roles = graph.nodes[node_id], graph.spec_of(node_id).report
        if not roles.reads or node_id in shown_upstream:
            continue
        for port in graph.spec_of(node_id).outputs:
            if port.kind == PortKind.AUDIO and (node_id, port.name) not in seen:
                add(node_id, port.name, "input", f"input {decl.params.get(roles.reads)} ({node_id})")
    plan.signals.sort(key=lambda s: _rank(s.role))  # sources first, then what was made of them
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
