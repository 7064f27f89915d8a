"""YAML → plain Python values, with every key's and value's position kept in side tables.

Uses yaml's safe composer, so no Python object can be built from a graph file, and rejects
duplicate keys, which plain yaml silently lets the last one win.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import Issue, SourceLoc, did_you_mean

VARIABLE = re.compile(r"\$\{([^}]*)\}")
# YAML aliases let a few lines stand for an exponential number of values ("billion laughs": 9 aliases
# of 9 aliases of ... 8 levels deep is 43 million). No graph needs more values than this; building stops there.
MAX_VALUES = 20_000


class _TooManyValues(Exception):
    def __init__(self, node):
        self.node = node


@dataclass
class LocatedDocument:
    value: object
    file: str
    value_locs: dict = field(default_factory=dict)
    key_locs: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)  # the file's own variables: values, before overrides
    unused_overrides: list = field(default_factory=list)
    # value path -> the scalar's text as written, for every scalar that uses a ${variable}: so a validated
    # graph can bind new variable values later without reading or parsing the file again (Graph.bind).
    templates: dict = field(default_factory=dict)

    def loc(self, path: tuple) -> SourceLoc | None:
        """Where the value at ``path`` starts, or the closest enclosing value that has a position."""
        path = tuple(path)
        while path:
            if path in self.value_locs:
                return self.value_locs[path]
            path = path[:-1]
        return self.value_locs.get((), None)

    def key_loc(self, path: tuple) -> SourceLoc | None:
        return self.key_locs.get(tuple(path)) or self.loc(path)


def _mark_loc(file: str, mark) -> SourceLoc:
    return SourceLoc(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str, variables: dict, prebuilt: dict | None = None):
        self.file = file
        self.variables = variables
        self.prebuilt = prebuilt or {}  # path -> value already built (the variables section)
        self.doc = LocatedDocument(None, file)
        self._scalar_loader = yaml.SafeLoader("")
        self.used_variables: set[str] = set()
        self._budget = MAX_VALUES

    def build(self, node, path=()):
        self._budget -= 1
        if self._budget < 0:
            raise _TooManyValues(node)
        self.doc.value_locs[path] = _mark_loc(self.file, node.start_mark)
        if path in self.prebuilt:
            return self.prebuilt[path]
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node, path, expand=False)
                if not isinstance(key, (str, int, float, bool)):
                    self.doc.issues.append(Issue(_mark_loc(self.file, key_node.start_mark), "mapping keys must be plain names"))
                    continue
                key = str(key)
                if key in result:
                    first = self.doc.key_locs[path + (key,)]
                    self.doc.issues.append(Issue(_mark_loc(self.file, key_node.start_mark),
                                                 f"duplicate key '{key}' (first at line {first.line}); each key may appear once"))
                    continue
                self.doc.key_locs[path + (key,)] = _mark_loc(self.file, key_node.start_mark)
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node, path, expand=True)

    def _scalar(self, node, path, expand: bool):
        if not isinstance(node, yaml.ScalarNode):
            return None
        value = self._scalar_loader.construct_object(node, deep=True)
        if expand and isinstance(value, str) and "${" in value:
            self.doc.templates[path] = value
            value = substitute(value, self.variables, lambda name: self._missing(name, _mark_loc(self.file, node.start_mark)))
            self.used_variables.update(variable_names(self.doc.templates[path]) & set(self.variables))
        return value

    def _missing(self, name: str, loc: SourceLoc) -> None:
        hint = did_you_mean(name, self.variables)
        expected = f"did you mean '${{{hint}}}'?" if hint else "set it with --set " + f"{name}=VALUE or in the graph's variables:"
        self.doc.issues.append(Issue(loc, f"undefined variable '${{{name}}}'; {expected}"))


def variable_names(text: str) -> set[str]:
    return {m.group(1).strip() for m in VARIABLE.finditer(text)}


def substitute(text: str, variables: dict, missing=None):
    """``text`` with its ``${name}``s replaced. A scalar that is only "${x}" takes x's own value and type
    (--set iterations=50 gives an int; a bound pathlib.Path gives its path as text); within longer text
    each value is written out. ``missing(name)`` is told of names not in ``variables`` (left as written)."""
    whole = VARIABLE.fullmatch(text)
    if whole:
        name = whole.group(1).strip()
        if name not in variables:
            if missing:
                missing(name)
            return None
        value = variables[name]
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    def repl(m):
        name = m.group(1).strip()
        if name not in variables:
            if missing:
                missing(name)
            return m.group(0)
        value = variables[name]
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    return VARIABLE.sub(repl, text)


def parse_cli_value(text: str):
    """A --set value is read as a YAML scalar ('50' → 50, 'true' → True), anything else stays text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool, str)) and value is not None else text


def load_document(path: str | Path, overrides: dict | None = None, text: str | None = None) -> LocatedDocument:
    """Read a YAML graph file, substitute ``${variables}`` and record positions.

    Variables come from the file's ``variables:`` mapping (defaults, which may use the built-in
    ``${graph_dir}``) overridden by ``overrides`` (the CLI's --set). Syntax errors and undefined
    variables are returned as issues, not raised.
    """
    path = Path(path)
    file = str(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        loc = _mark_loc(file, mark) if mark else SourceLoc(file, 1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        return LocatedDocument(None, file, issues=[Issue(loc, f"YAML syntax error: {problem}; check indentation and quoting")])
    if root is None:
        return LocatedDocument(None, file, issues=[Issue(SourceLoc(file, 1, 1), "graph file is empty; expected a mapping with 'nodes:'")])

    builtins = {"graph_dir": str(path.resolve().parent)}
    # First pass: the variables section alone, so its defaults can be used everywhere else.
    defaults: dict = {}
    issues: list[Issue] = []
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "variables":
                vb = _Builder(file, builtins)
                try:
                    value = vb.build(value_node, ("variables",))
                except _TooManyValues as exc:
                    return _too_many(file, exc.node)
                issues.extend(vb.doc.issues)
                if isinstance(value, dict):
                    defaults = value
                else:
                    issues.append(Issue(_mark_loc(file, value_node.start_mark), "'variables' must be a mapping of name: default"))
    variables = {**builtins, **defaults, **(overrides or {})}
    builder = _Builder(file, variables, prebuilt={("variables",): defaults})
    doc = builder.doc
    try:
        doc.value = builder.build(root)
    except _TooManyValues as exc:
        return _too_many(file, exc.node)
    doc.issues = issues + doc.issues
    doc.variables = variables
    doc.defaults = dict(defaults)
    unused = sorted(set(overrides or {}) - builder.used_variables)
    doc.unused_overrides = unused
    return doc



def _too_many(file: str, node) -> LocatedDocument:
    return LocatedDocument(None, file, issues=[Issue(_mark_loc(file, node.start_mark),
                                                     f"the graph expands to more than {MAX_VALUES} values through nested "
                                                     "YAML aliases (*name); write the values out or use fewer aliases")])
