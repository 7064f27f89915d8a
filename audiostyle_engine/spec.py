"""Declarative node specs: plain data, readable without importing torch or any node code."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .payloads import PortKind

# Param types a graph author can write; each has one checker below.
PARAM_TYPES = ("int", "float", "bool", "str", "choice", "path", "out_path", "list", "mapping", "any")

_REQUIRED = object()


@dataclass(frozen=True)
class Port:
    name: str
    kind: PortKind
    doc: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any = _REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    unit: str = ""
    nullable: bool = False  # None ("null" in YAML) is accepted and means "not set"

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise ValueError(f"param {self.name}: unknown type {self.type!r}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe_range(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        if self.min is None and self.max is None:
            return ""
        return f"[{lo}, {hi}]"

    def coerce(self, value: Any) -> tuple[Any, str | None]:
        """Return (checked value, None) or (None, 'what is wrong; what is expected')."""
        name = self.name
        if value is None:
            if self.nullable:
                return None, None
            return None, f"param {name} is empty; expected a {self.type}"
        t = self.type
        if t == "int":
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
                return None, f"param {name}={value!r} must be an integer"
            value = int(value)
        elif t == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return None, f"param {name}={value!r} must be a number"
            value = float(value)
        elif t == "bool":
            if not isinstance(value, bool):
                return None, f"param {name}={value!r} must be true or false"
        elif t in ("str", "path", "out_path"):
            if not isinstance(value, str) or not value:
                return None, f"param {name}={value!r} must be a non-empty string"
        elif t == "choice":
            if value not in self.choices:
                return None, f"param {name}={value!r} is not allowed; expected {self.describe_range()}"
        elif t == "list":
            if not isinstance(value, list):
                return None, f"param {name} must be a list"
        elif t == "mapping":
            if not isinstance(value, dict):
                return None, f"param {name} must be a mapping"
        if t in ("int", "float"):
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                return None, f"param {name}={value!r} is out of range; expected a value in {self.describe_range()}"
        return value, None


@dataclass(frozen=True)
class IterationRecord:
    """A record a node publishes with ``ctx.record(key, {...})`` holding one entry per iteration of its
    work: equal-length lists under ``iteration`` and each series, and optionally a count of evaluations.
    Reports draw it and the CLI sums it up; neither knows which node made it."""

    key: str
    iteration: str = "iteration"
    losses: tuple[tuple[str, str], ...] = ()  # (series, label) on the loss plot, the total first
    correlation: tuple[str, str] | None = None  # (series, label): a value in [-1, 1], drawn on its own plot
    evaluations: str | None = None  # a count beside the series (e.g. objective evaluations)


@dataclass(frozen=True)
class ReportRoles:
    """What a report shows of a node: plain declarations that report/ reads (the executor never does)."""

    # Input ports whose audio is a source of this node's work; each is shown under the port's name
    # (e.g. 'content', 'style'), and a node with both a 'content' and a 'style' source gets a quality table.
    sources: tuple[str, ...] = ()
    makes: str | None = None  # role of the first audio made from this node's output downstream, e.g. 'styled'
    branches: bool = False  # each audio input is worth hearing on its own (a mix's dry and wet)
    writes: str | None = None  # the param naming the file its audio input is written to: shown as an output
    reads: str | None = None  # the param naming the file its output was read from: shown as an input
    iterations: IterationRecord | None = None


@dataclass(frozen=True)
class NodeSpec:
    type_name: str
    category: str  # "io", "signal", "spectral", "fx"
    summary: str
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    params: tuple[Param, ...] = ()
    doc: str = ""
    # True for nodes that fill a GPU on their own (style transfer): batch and watch modes run at most
    # one job containing such a node per GPU at a time.
    exclusive_device: bool = False
    # True for nodes that compute on ctx.device; batch and watch resolve --device auto (and import
    # torch) only for graphs that have one, so FX-only batches start fast and stay light.
    uses_device: bool = False
    report: ReportRoles = ReportRoles()  # what a report shows of this node

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)


@dataclass(frozen=True)
class StreamInfo:
    """What is known about a port's value before any audio is read; None means unknown.

    Validation passes these along the graph (``Node.infer_outputs``) so nodes can refuse input
    they cannot handle, e.g. a mono-only plugin fed stereo, before a run starts.
    """

    channels: int | None = None
    sample_rate: int | None = None
    frames: int | None = None
    origin: str = ""  # where the facts come from, for messages, e.g. "'voice.wav'"

    def replace(self, **changes) -> "StreamInfo":
        from dataclasses import replace

        return replace(self, **changes)


UNKNOWN = StreamInfo()


@dataclass
class ParamProblem:
    """A problem a node found in its own params; ``path`` points inside the param for the location."""

    param: str
    message: str
    path: tuple = field(default_factory=tuple)
    at_key: bool = False  # point at the key (a wrong name) rather than at its value


class Node:
    """Base class of every node kind: a spec, validated params, and ``process``.

    A node knows nothing about YAML or the CLI: it gets checked Python values and returns
    a dict keyed by output port name.
    """

    spec: ClassVar[NodeSpec]

    def __init__(self, params: dict[str, Any], node_id: str = ""):
        self.params = params
        self.node_id = node_id

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[ParamProblem]:
        """Node-specific checks beyond types and ranges; runs at validation, before any audio."""
        return []

    @classmethod
    def infer_outputs(cls, params: dict[str, Any], inputs: dict[str, StreamInfo]) -> dict[str, StreamInfo]:
        """Static facts about the outputs from params and the inputs' facts; runs at validation.

        The default knows nothing (every output unknown). Nodes that keep or set channel count
        or sample rate say so, so a later node can check what reaches it."""
        return {}

    @classmethod
    def check_inputs(cls, params: dict[str, Any], inputs: dict[str, StreamInfo]) -> list[ParamProblem]:
        """Problems with what reaches this node (e.g. a channel count it cannot take); runs at validation.
        Only facts that are known (not None) should be judged."""
        return []

    def process(self, ctx, **inputs) -> dict[str, Any]:
        raise NotImplementedError
