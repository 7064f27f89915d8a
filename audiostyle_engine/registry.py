"""Maps node type names to node classes. Injected into validation and execution, never global.

Knows no concrete node: the registry with the built-in nodes is made by the composition root
(run.default_registry), the one module of the engine that imports ``nodes``.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from .errors import did_you_mean
from .spec import Node

ENTRY_POINT_GROUP = "audiostyle.nodes"


class Registry:
    def __init__(self):
        self._nodes: dict[str, type[Node]] = {}

    def register(self, cls: type[Node]) -> type[Node]:
        name = cls.spec.type_name
        if name in self._nodes and self._nodes[name] is not cls:
            raise ValueError(f"node type {name!r} registered twice ({self._nodes[name].__module__} and {cls.__module__})")
        self._nodes[name] = cls
        return cls

    def get(self, name: str) -> type[Node] | None:
        return self._nodes.get(name)

    def names(self) -> list[str]:
        return sorted(self._nodes)

    def __iter__(self):
        return iter(self._nodes[n] for n in self.names())

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    def suggest(self, name: str) -> str | None:
        return did_you_mean(name, self.names())


def with_entry_points(registry: Registry) -> Registry:
    """Add the node kinds that installed packages declare in the ``audiostyle.nodes`` entry point group."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        registry.register(ep.load())
    return registry
