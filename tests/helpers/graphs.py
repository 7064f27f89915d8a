"""Graph files for tests: one writer, and the small graphs several test folders share."""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent


def write_graph(folder: Path, text: str, name: str = "g.yaml") -> Path:
    """``text`` (dedented, leading newlines dropped) as ``folder``/``name``."""
    path = Path(folder) / name
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# A tiny FX graph for the batch and watch tests: its output is exactly half the input.
HALF_GAIN_GRAPH = """
variables:
  content: missing.wav
  out: out/result.wav
  gain: -6.020599913
nodes:
  source:
    type: load
    path: ${content}
    min_seconds: 0.05
  louder:
    type: fx
    inputs: {audio: source}
    chain:
      - {effect: Gain, gain_db: "${gain}"}
  save:
    type: write
    inputs: {audio: louder}
    path: ${out}
    bit_depth: 32
"""


def half_gain_graph(folder: Path, text: str = HALF_GAIN_GRAPH) -> Path:
    return write_graph(folder, text, "half.yaml")
