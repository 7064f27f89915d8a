"""Provenance sidecars: next to each output, what is needed to make it again.

``out.wav`` gets ``out.wav.provenance.json`` with the graph's fingerprint and every node's
params, the variables, the device and seed, the library versions, what nodes recorded about
themselves (plugin paths and state hashes, loudness, tails) and a hash of the output itself.
Generic: it reads the graph and the records, and knows no particular node.
"""
from __future__ import annotations

import functools

import hashlib
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__

SUFFIX = ".provenance.json"
LIBRARIES = ("numpy", "scipy", "pedalboard", "torch", "librosa", "pyloudnorm", "PyYAML", "soundfile", "soxr")
MAX_RECORD_BYTES = 8192  # per record: keep loss histories and the like out of a "small" sidecar


def sidecar_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + SUFFIX)


def describe_run(graph, records: dict[str, dict], device: str, seed: int | None) -> dict:
    """Everything about a run that does not depend on which output it is attached to."""
    return {
        "audiostyle": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "graph": {"file": str(Path(graph.file).resolve()), "fingerprint": graph.fingerprint,
                  "nodes": {nid: {"type": d.type, "params": d.params,
                                  "inputs": {port: ".".join(p for p in src if p) for port, src in d.inputs.items()}}
                            for nid, d in graph.nodes.items()}},
        "variables": {k: v for k, v in graph.variables.items() if k != "graph_dir"},
        "device": device,
        "seed": seed,
        "records": {nid: {k: _small(v) for k, v in rec.items()} for nid, rec in records.items()},
        "libraries": library_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple:
    # Reading package metadata costs ~15 ms; versions cannot change inside one process.
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return tuple(versions.items())


def library_versions() -> dict[str, str | None]:
    return dict(_installed_versions())


def sidecar_text(run_info: dict, output_final: Path, output_written: Path) -> str:
    with open(output_written, "rb") as f:
        digest = hashlib.file_digest(f, "sha256")  # reads into one reused buffer, no chunk copies
    doc = {"output": str(Path(output_final).resolve()), "output_sha256": digest.hexdigest(), **run_info}
    return json.dumps(doc, indent=2, default=_json_default) + "\n"


def _small(value: Any) -> Any:
    try:
        text = json.dumps(value, default=_json_default)
    except (TypeError, ValueError):
        return f"<{type(value).__name__}, not recorded>"
    return value if len(text) <= MAX_RECORD_BYTES else f"<omitted: {len(text)} bytes>"


def _json_default(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)
