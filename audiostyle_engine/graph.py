"""Graph model: YAML document → GraphSpec (pure data) → validated Graph, every problem at once."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GraphValidationError, Issue, SourceLoc, did_you_mean
from .registry import Registry
from .spec import UNKNOWN, Node, NodeSpec, StreamInfo
from .yaml_source import LocatedDocument, load_document, substitute, variable_names

TOP_LEVEL_KEYS = ("description", "variables", "nodes", "report")
RESERVED_NODE_KEYS = ("type", "inputs")


@dataclass
class Edge:
    src_node: str
    src_port: str
    dst_node: str
    dst_port: str
    loc: SourceLoc | None = None


@dataclass
class NodeDecl:
    id: str
    type: str
    params: dict[str, Any]
    inputs: dict[str, tuple[str, str | None]]  # port -> (source node, source port or None)
    loc: SourceLoc | None = None


@dataclass
class Graph:
    """A validated graph: node classes resolved, params checked and defaulted, edges typed."""

    file: str
    description: str
    nodes: dict[str, NodeDecl]
    classes: dict[str, type[Node]]
    edges: list[Edge]
    order: list[str]  # a topological order
    variables: dict = field(default_factory=dict)
    report: Any = None
    fingerprint: str = ""
    streams: dict[tuple[str, str], StreamInfo] = field(default_factory=dict)  # (node, port) -> static facts
    # Positions and ${variable} templates of the file, kept so that bind() needs no second parse.
    doc: LocatedDocument | None = field(default=None, repr=False, compare=False)

    def uses_device(self) -> bool:
        """Some node computes on the run device (so --device must be resolved, and torch imported)."""
        return any(self.spec_of(n).uses_device or self.spec_of(n).exclusive_device for n in self.order)

    def needs_exclusive_device(self) -> bool:
        """Some node fills a GPU on its own: batch and watch run one such job per GPU at a time."""
        return any(self.spec_of(n).exclusive_device for n in self.order)

    def uses_variable(self, name: str) -> bool:
        return self.doc is not None and any(name in variable_names(t) for t in self.doc.templates.values())

    def bind(self, values: dict, check_files: bool = True) -> "Graph":
        """This graph with new values for some of its variables — e.g. one batch input and its output,
        as typed paths — without reading or parsing the file again. Only what uses those variables is
        checked again (types, ranges, the node's own checks, files, and the streams from there on);
        every problem is raised at once as a GraphValidationError, located in the graph file."""
        return _bind(self, values, check_files)

    def spec_of(self, node_id: str) -> NodeSpec:
        return self.classes[node_id].spec

    def consumers(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src_node == node_id]

    def inputs_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst_node == node_id]

    def params_of_type(self, type_name: str) -> list[tuple[str, str, Any]]:
        """(node id, param name, value) for every param of a given param type, e.g. 'out_path'."""
        out = []
        for nid in self.order:
            for p in self.spec_of(nid).params:
                if p.type == type_name and self.nodes[nid].params.get(p.name) is not None:
                    out.append((nid, p.name, self.nodes[nid].params[p.name]))
        return out


def load_graph(path: str | Path, registry: Registry, variables: dict | None = None,
               text: str | None = None, check_files: bool = True) -> Graph:
    """Read, substitute and validate a graph file; raise GraphValidationError with every problem."""
    doc = load_document(path, variables, text=text)
    return validate_document(doc, registry, check_files=check_files)


def validate_document(doc: LocatedDocument, registry: Registry, check_files: bool = True) -> Graph:
    v = _Validator(doc, registry, check_files)
    graph = v.run()
    for name in getattr(doc, "unused_overrides", []):
        hint = did_you_mean(name, [k for k in doc.variables if k not in doc.unused_overrides and k != "graph_dir"])
        v.issues.append(Issue(None, f"{doc.file}: --set {name}=...: the graph uses no variable '{name}'; " +
                              (f"did you mean '{hint}'?" if hint else "check the graph's ${...} names")))
    if v.issues:
        raise GraphValidationError(v.issues)
    return graph


class _Validator:
    def __init__(self, doc: LocatedDocument, registry: Registry, check_files: bool):
        self.doc = doc
        self.registry = registry
        self.check_files = check_files
        self.issues: list[Issue] = list(doc.issues)

    def err(self, path, message: str, key: bool = False):
        loc = self.doc.key_loc(path) if key else self.doc.loc(path)
        self.issues.append(Issue(loc, message))

    def run(self) -> Graph | None:
        doc = self.doc
        root = doc.value
        if root is None:
            return None
        if not isinstance(root, dict):
            self.err((), "a graph file must be a mapping with 'nodes:'")
            return None
        for key in root:
            if key not in TOP_LEVEL_KEYS:
                hint = did_you_mean(key, TOP_LEVEL_KEYS)
                self.err((key,), f"unknown top-level key '{key}'; " + (f"did you mean '{hint}'?" if hint else
                         "expected one of " + ", ".join(TOP_LEVEL_KEYS)), key=True)
        nodes_raw = root.get("nodes")
        if not isinstance(nodes_raw, dict) or not nodes_raw:
            self.err(("nodes",), "the graph needs a 'nodes:' mapping of node id → node")
            return None

        decls: dict[str, NodeDecl] = {}
        classes: dict[str, type[Node]] = {}
        for node_id, body in nodes_raw.items():
            decl, cls = self._node(node_id, body)
            if decl is not None:
                decls[node_id] = decl
            if cls is not None:
                classes[node_id] = cls

        edges = self._edges(decls, classes)
        order = self._toposort(decls, edges)
        if self.check_files:
            self._files(decls, classes)
        if self.issues:
            return None
        streams = self._streams(decls, classes, edges, order)
        if self.issues:
            return None
        return Graph(file=doc.file, description=str(root.get("description", "")), nodes=decls,
                     classes=classes, edges=edges, order=order, variables=dict(doc.variables),
                     report=root.get("report"), fingerprint=_fingerprint(decls), streams=streams, doc=doc)

    def _node(self, node_id: str, body) -> tuple[NodeDecl | None, type[Node] | None]:
        path = ("nodes", node_id)
        if not isinstance(body, dict):
            self.err(path, f"node '{node_id}' must be a mapping with 'type:' and its params")
            return None, None
        type_name = body.get("type")
        if type_name is None:
            self.err(path, f"node '{node_id}' has no 'type'; expected one of: " + ", ".join(self.registry.names()), key=True)
            return None, None
        cls = self.registry.get(str(type_name))
        if cls is None:
            hint = self.registry.suggest(str(type_name))
            self.err(path + ("type",), f"node '{node_id}': unknown node type '{type_name}'; " +
                     (f"did you mean '{hint}'?" if hint else "run 'audiostyle nodes' to list node types"))
            return None, None
        spec = cls.spec
        params: dict[str, Any] = {}
        for key, value in body.items():
            if key in RESERVED_NODE_KEYS:
                continue
            p = spec.param(key)
            if p is None:
                hint = did_you_mean(key, [q.name for q in spec.params])
                self.err(path + (key,), f"node '{node_id}' ({spec.type_name}): unknown param '{key}'; " +
                         (f"did you mean '{hint}'?" if hint else
                          ("expected one of: " + ", ".join(q.name for q in spec.params)) if spec.params else "it takes no params"),
                         key=True)
                continue
            checked, problem = p.coerce(value)
            if problem:
                self.err(path + (key,), f"node '{node_id}' ({spec.type_name}): {problem}")
                continue
            params[key] = checked
        missing = [p.name for p in spec.params if p.required and p.name not in body]
        for name in missing:
            self.err(path, f"node '{node_id}' ({spec.type_name}): missing required param '{name}'", key=True)
        for p in spec.params:
            if p.name not in params and not p.required:
                params[p.name] = p.default
        if not missing and len(params) == len(spec.params):
            for problem in cls.check_params(params):
                self.err(path + (problem.param,) + tuple(problem.path), f"node '{node_id}' ({spec.type_name}): {problem.message}",
                         key=problem.at_key)

        inputs: dict[str, tuple[str, str | None]] = {}
        raw_inputs = body.get("inputs", {})
        if not isinstance(raw_inputs, dict):
            self.err(path + ("inputs",), f"node '{node_id}': 'inputs' must map port → 'node' or 'node.port'")
        else:
            for port, ref in raw_inputs.items():
                ipath = path + ("inputs", port)
                if spec.input(port) is None:
                    hint = did_you_mean(port, [q.name for q in spec.inputs])
                    names = ", ".join(q.name for q in spec.inputs) or "none"
                    self.err(ipath, f"node '{node_id}' ({spec.type_name}): unknown input port '{port}'; " +
                             (f"did you mean '{hint}'?" if hint else f"its inputs are: {names}"), key=True)
                    continue
                if not isinstance(ref, str) or not ref:
                    self.err(ipath, f"node '{node_id}': input '{port}' must name a node, as 'node' or 'node.port'")
                    continue
                src, _, src_port = ref.partition(".")
                inputs[port] = (src, src_port or None)
        return NodeDecl(node_id, spec.type_name, params, inputs, self.doc.key_loc(path)), cls

    def _edges(self, decls: dict[str, NodeDecl], classes: dict[str, type[Node]]) -> list[Edge]:
        edges = []
        for node_id, decl in decls.items():
            cls = classes.get(node_id)
            if cls is None:
                continue
            spec = cls.spec
            for port, (src, src_port) in decl.inputs.items():
                ipath = ("nodes", node_id, "inputs", port)
                if src not in self.doc.value["nodes"]:
                    hint = did_you_mean(src, list(self.doc.value["nodes"]))
                    self.err(ipath, f"node '{node_id}': input '{port}' comes from unknown node '{src}'; " +
                             (f"did you mean '{hint}'?" if hint else "expected the id of a node in this graph"))
                    continue
                if src == node_id:
                    self.err(ipath, f"node '{node_id}': input '{port}' is connected to its own output; graphs must not have cycles")
                    continue
                src_cls = classes.get(src)
                if src_cls is None:
                    continue  # its own error was already reported
                src_spec = src_cls.spec
                if src_port is None:
                    if len(src_spec.outputs) != 1:
                        outs = ", ".join(f"'{src}.{o.name}'" for o in src_spec.outputs) or "none"
                        self.err(ipath, f"node '{node_id}': input '{port}' must name one of the outputs of '{src}': {outs}")
                        continue
                    src_port = src_spec.outputs[0].name
                out_port = src_spec.output(src_port)
                if out_port is None:
                    hint = did_you_mean(src_port, [o.name for o in src_spec.outputs])
                    self.err(ipath, f"node '{node_id}': '{src}' ({src_spec.type_name}) has no output '{src_port}'; " +
                             (f"did you mean '{hint}'?" if hint else "outputs: " + ", ".join(o.name for o in src_spec.outputs)))
                    continue
                in_port = spec.input(port)
                if in_port.kind != out_port.kind:
                    self.err(ipath, f"node '{node_id}': input '{port}' takes {in_port.kind.value} but '{src}.{src_port}' "
                             f"gives {out_port.kind.value}; connect a node that outputs {in_port.kind.value}")
                    continue
                edges.append(Edge(src, src_port, node_id, port, self.doc.loc(ipath)))
            for port in spec.inputs:
                if not port.optional and port.name not in decl.inputs:
                    self.err(("nodes", node_id), f"node '{node_id}' ({spec.type_name}): required input '{port.name}' "
                             f"({port.kind.value}) is not connected; add 'inputs: {{{port.name}: NODE}}'", key=True)
        return edges

    def _toposort(self, decls, edges) -> list[str]:
        deps = {nid: {e.src_node for e in edges if e.dst_node == nid} for nid in decls}
        order: list[str] = []
        done: set[str] = set()
        remaining = list(decls)  # declaration order breaks ties, so runs are predictable
        while remaining:
            ready = [n for n in remaining if deps[n] <= done]
            if not ready:
                cycle = " → ".join(_find_cycle(remaining, deps))
                self.err(("nodes", remaining[0]), f"the graph has a cycle: {cycle}; a node's output must not feed back into it", key=True)
                return order
            for n in ready:
                order.append(n)
                done.add(n)
                remaining.remove(n)
        return order

    def _streams(self, decls, classes, edges, order) -> dict[tuple[str, str], StreamInfo]:
        return _infer_streams(decls, classes, edges, order, self.err)

    def _files(self, decls, classes):
        for node_id, decl in decls.items():
            cls = classes.get(node_id)
            if cls is None:
                continue
            for p in cls.spec.params:
                _check_file(node_id, p, decl.params.get(p.name), self.err)


def _check_file(node_id: str, p, value, err) -> None:
    """Input files must exist, outputs must be writable (``err(path, message)`` is told otherwise)."""
    if value is None:
        return
    ppath = ("nodes", node_id, p.name)
    if p.type == "path":
        if not os.path.exists(value):
            err(ppath, f"node '{node_id}': input file not found: {value}; check the path or pass --set with an existing file")
        elif os.path.isdir(value):
            err(ppath, f"node '{node_id}': {value} is a folder; expected an audio file")
    elif p.type == "out_path":
        problem = _unwritable(value)
        if problem:
            err(ppath, f"node '{node_id}': cannot write {value}: {problem}")


def _infer_streams(decls, classes, edges, order, err, previous=None, changed=()) -> dict[tuple[str, str], StreamInfo]:
    """Pass static facts (channels, sample rate) along the edges and let each node judge its inputs.
    With ``previous``, only the ``changed`` nodes and what they feed are looked at again."""
    streams: dict[tuple[str, str], StreamInfo] = {}
    redo = set(changed)
    for node_id in order:
        cls, decl = classes[node_id], decls[node_id]
        feeding = [e for e in edges if e.dst_node == node_id]
        if previous is not None and node_id not in redo and not any(e.src_node in redo for e in feeding):
            for port in cls.spec.outputs:
                streams[(node_id, port.name)] = previous.get((node_id, port.name), UNKNOWN)
            continue
        redo.add(node_id)
        inputs = {e.dst_port: streams.get((e.src_node, e.src_port), UNKNOWN) for e in feeding}
        path = ("nodes", node_id)
        try:
            problems = cls.check_inputs(decl.params, inputs)
            outputs = cls.infer_outputs(decl.params, inputs) or {}
        except Exception as exc:  # a node's checker must not take validation down; report it
            err(path, f"node '{node_id}' ({decl.type}): could not check its inputs: {exc}", key=True)
            continue
        for problem in problems:
            err(path + (problem.param,) + tuple(problem.path), f"node '{node_id}' ({decl.type}): {problem.message}")
        for port in cls.spec.outputs:
            streams[(node_id, port.name)] = outputs.get(port.name, UNKNOWN)
    return streams


def _set_in(container, path: tuple, value) -> None:
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


def _bind(graph: Graph, values: dict, check_files: bool) -> Graph:
    doc = graph.doc
    if doc is None:
        raise ValueError("this graph was not loaded from a file; nothing to bind")
    issues: list[Issue] = []

    def err(path, message, key=False):
        issues.append(Issue(doc.key_loc(path) if key else doc.loc(path), message))

    unknown = sorted(n for n in values if not graph.uses_variable(n))
    if unknown:
        raise GraphValidationError([Issue(None, f"{graph.file}: the graph uses no variable '{n}'; check the graph's "
                                          "${...} names") for n in unknown])
    variables = {**graph.variables, **values}
    top = {"report": copy.deepcopy(graph.report), "description": graph.description}
    raw: dict[str, dict] = {}  # node id -> param -> its new value as written (before type checks)
    for path, text in doc.templates.items():
        if not variable_names(text) & values.keys():
            continue
        value = substitute(text, variables)
        if path[0] in top:
            if len(path) == 1:
                top[path[0]] = value
            else:
                _set_in(top[path[0]], path[1:], value)
        elif path[0] == "nodes" and len(path) >= 3 and path[2] not in RESERVED_NODE_KEYS and path[1] in graph.nodes:
            node_id, param = path[1], path[2]
            params = raw.setdefault(node_id, {})
            if len(path) == 3:
                params[param] = value
            else:
                params.setdefault(param, copy.deepcopy(graph.nodes[node_id].params[param]))
                _set_in(params[param], path[3:], value)
        else:
            err(path, "${...} here cannot take a value per run; use variables only in node params")
    nodes = dict(graph.nodes)
    for node_id, changed in raw.items():
        cls, decl = graph.classes[node_id], graph.nodes[node_id]
        spec, params = cls.spec, dict(decl.params)
        typed = True
        for name, value in changed.items():
            checked, problem = spec.param(name).coerce(value)
            if problem:
                err(("nodes", node_id, name), f"node '{node_id}' ({spec.type_name}): {problem}")
                typed = False
                continue
            params[name] = checked
            if check_files:
                _check_file(node_id, spec.param(name), checked, err)
        if typed:  # a node's own checks need every param of the right type
            for problem in cls.check_params(params):
                err(("nodes", node_id, problem.param) + tuple(problem.path),
                    f"node '{node_id}' ({spec.type_name}): {problem.message}", key=problem.at_key)
        nodes[node_id] = dataclasses.replace(decl, params=params)
    streams = graph.streams
    if not issues:
        streams = _infer_streams(nodes, graph.classes, graph.edges, graph.order, err, graph.streams, raw)
    if issues:
        raise GraphValidationError(issues)
    return dataclasses.replace(graph, nodes=nodes, variables=variables, report=top["report"],
                               description=str(top["description"]), fingerprint=_fingerprint(nodes), streams=streams)


def _find_cycle(nodes, deps) -> list[str]:
    start = nodes[0]
    seen = [start]
    current = start
    while True:
        nxt = next(iter(sorted(d for d in deps[current] if d in nodes)))
        if nxt in seen:
            return seen[seen.index(nxt):] + [nxt]
        seen.append(nxt)
        current = nxt


def _unwritable(path: str) -> str | None:
    p = Path(path).absolute()
    if p.is_dir():
        return "it is a folder; expected a file name"
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"folder {parent} is not writable"
    return None


def _fingerprint(decls: dict[str, NodeDecl]) -> str:
    """A hash of what the graph computes (types, params, wiring), not of its formatting."""
    canon = {nid: {"type": d.type, "params": d.params, "inputs": {k: list(v) for k, v in sorted(d.inputs.items())}}
             for nid, d in sorted(decls.items())}
    return hashlib.sha256(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()[:16]
