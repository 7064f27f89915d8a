"""YAML → plain Python values, with every key's and value's position kept in side tables.

Uses yaml's safe composer, so no Python object can be built from a graph file, and rejects
duplicate keys, which plain yaml silently lets the last one win.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import Issue, SourceLoc

VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class LocatedDocument:
    value: object
    file: str
    value_locs: dict = field(default_factory=dict)
    key_locs: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    unused_overrides: list = field(default_factory=list)

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

    def build(self, node, path=()):
        self.doc.value_locs[path] = _mark_loc(self.file, node.start_mark)
        if path in self.prebuilt:
            return self.prebuilt[path]
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node, path, substitute=False)
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
        return self._scalar(node, path, substitute=True)

    def _scalar(self, node, path, substitute: bool):
        if not isinstance(node, yaml.ScalarNode):
            return None
        value = self._scalar_loader.construct_object(node, deep=True)
        if substitute and isinstance(value, str) and "${" in value:
            value = self._substitute(value, _mark_loc(self.file, node.start_mark))
        return value

    def _substitute(self, text: str, loc: SourceLoc):
        whole = VARIABLE.fullmatch(text)
        if whole:
            # A scalar that is only "${x}" takes x's own type, so --set iterations=50 gives an int.
            name = whole.group(1).strip()
            return self._lookup(name, loc, text)
        def repl(m):
            value = self._lookup(m.group(1).strip(), loc, m.group(0))
            return m.group(0) if value is None else str(value)
        return VARIABLE.sub(repl, text)

    def _lookup(self, name: str, loc: SourceLoc, original: str):
        if name not in self.variables:
            from .registry import did_you_mean
            hint = did_you_mean(name, self.variables)
            expected = f"did you mean '${{{hint}}}'?" if hint else "set it with --set " + f"{name}=VALUE or in the graph's variables:"
            self.doc.issues.append(Issue(loc, f"undefined variable '${{{name}}}'; {expected}"))
            return None
        self.used_variables.add(name)
        return self.variables[name]


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
                value = vb.build(value_node, ("variables",))
                issues.extend(vb.doc.issues)
                if isinstance(value, dict):
                    defaults = value
                else:
                    issues.append(Issue(_mark_loc(file, value_node.start_mark), "'variables' must be a mapping of name: default"))
    variables = {**builtins, **defaults, **(overrides or {})}
    builder = _Builder(file, variables, prebuilt={("variables",): defaults})
    doc = builder.doc
    doc.value = builder.build(root)
    doc.issues = issues + doc.issues
    doc.variables = variables
    unused = sorted(set(overrides or {}) - builder.used_variables)
    doc.unused_overrides = unused
    return doc

