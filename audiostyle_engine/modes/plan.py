"""The plan of a batch or watch run: the graph (read, parsed and validated once), the folders, the
--set values, how each input's output is named, and the hash that tells the journal what to redo."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..audio_io import EXTENSIONS as AUDIO_EXTENSIONS
from ..errors import BatchSetupError
from .inputs import inside
from .job import JobSpec, check_confined
from .journal import file_hash

ERROR_SUFFIX = ".error.txt"
REPORTS_FOLDER = "reports"  # OUT_DIR/reports/<input path without extension>/report.html


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class Plan:
    """What every job shares: the graph, the variables, the output naming, and the graph's hash."""

    graph_path: Path
    in_dir: Path
    out_dir: Path
    bind: str = "content"
    sets: dict = field(default_factory=dict)
    out_ext: str = ".wav"
    device: str = "auto"
    seed: int | None = None
    graph_hash: str = ""
    exclusive_device: bool = False
    output_count: int = 1  # files the graph writes per input
    report: bool = False  # a report per input under OUT_DIR/reports/, and OUT_DIR/index.html
    graph: object = None  # the Graph, validated once (with a stand-in input); each job binds its own paths
    text_hash: str = ""  # of the graph file's text: watch stops when the file changes under it

    @classmethod
    def create(cls, graph_path, in_dir, out_dir, bind="content", sets=None, fmt=None, device="auto", seed=None,
               report=False):
        from ..graph import validate_document
        from ..run import default_registry
        from ..yaml_source import load_document

        graph_path = Path(graph_path).absolute()
        in_dir, out_dir = Path(in_dir).absolute(), Path(out_dir).absolute()
        sets = dict(sets or {})
        if not graph_path.is_file():
            raise BatchSetupError(f"graph file {graph_path} not found")
        if bind == "out" or bind in sets or "out" in sets:
            raise BatchSetupError(f"${{{bind}}} and ${{out}} are bound to each file in batch and watch modes; "
                                  "do not --set them")
        real_in, real_out = os.path.realpath(in_dir), os.path.realpath(out_dir)
        if inside(real_out, real_in) or inside(real_in, real_out):
            raise BatchSetupError(f"input folder {in_dir} and output folder {out_dir} overlap; "
                                  "use an output folder outside the input folder")
        # The graph is read, parsed and validated once, here, with stand-in paths; each job binds its
        # own input and output to it (Graph.bind), so a batch of N files parses the file once.
        text = graph_path.read_text(encoding="utf-8")
        probe_in = in_dir / ("probe" + AUDIO_EXTENSIONS[0])
        doc = load_document(graph_path, {**sets, bind: probe_in, "out": out_dir / "probe.wav"}, text=text)
        for name in (bind, "out"):
            if name in doc.unused_overrides:
                raise BatchSetupError(f"{graph_path}: the graph does not use ${{{name}}}; batch and watch bind each "
                                      f"input to ${{{bind}}} and its output to ${{out}}" +
                                      (" (pick the input variable with --bind NAME)" if name == bind else ""))
        out_ext = fmt or Path(str(doc.defaults.get("out", ""))).suffix.lower()
        if out_ext and not out_ext.startswith("."):
            out_ext = "." + out_ext
        if out_ext not in AUDIO_EXTENSIONS:
            if fmt:
                raise BatchSetupError(f"--format {fmt} is not one of {', '.join(AUDIO_EXTENSIONS)}")
            out_ext = ".wav"
        graph = validate_document(doc, default_registry(), check_files=False)
        graph = graph.bind({"out": out_dir / ("probe" + out_ext)}, check_files=False)  # the outputs' real format
        plan = cls(graph_path, in_dir, out_dir, bind, sets, out_ext, device, seed, report=report, graph=graph)
        check_confined(graph, str(out_dir))
        plan.exclusive_device = graph.needs_exclusive_device()
        plan.output_count = len(graph.params_of_type("out_path"))
        # The graph's other input files (a style clip, an impulse response) are part of what it computes.
        side_inputs = {}
        for node_id, param, value in graph.params_of_type("path"):
            if value == str(probe_in):
                continue
            if not os.path.isfile(value):
                raise BatchSetupError(f"{graph_path}: node '{node_id}': input file not found: {value}; "
                                      "check the path or pass --set with an existing file")
            side_inputs[f"{node_id}.{param}"] = file_hash(value)
        plan.text_hash = text_hash(text)
        canon = json.dumps({"graph": text, "sets": sets, "bind": bind, "ext": out_ext, "side": side_inputs,
                            "version": __version__, "seed": seed}, sort_keys=True, default=str)
        plan.graph_hash = hashlib.blake2b(canon.encode(), digest_size=8).hexdigest()
        return plan

    def rel(self, path: Path) -> str:
        return path.absolute().relative_to(self.in_dir).as_posix()

    def output_for(self, rel: str) -> Path:
        r = Path(rel)
        return self.out_dir / r.parent / (r.stem + self.out_ext)

    def report_dir_for(self, rel: str) -> Path | None:
        if not self.report:
            return None
        r = Path(rel)
        return self.out_dir / REPORTS_FOLDER / r.parent / r.stem

    def error_path_for(self, rel: str) -> Path:
        r = Path(rel)
        return self.out_dir / r.parent / (r.name + ERROR_SUFFIX)

    def job(self, rel: str) -> JobSpec:
        out = self.output_for(rel)
        report_dir = self.report_dir_for(rel)
        return JobSpec(rel, str(self.in_dir / rel), str(out), self.graph, {self.bind: self.in_dir / rel, "out": out},
                       str(self.out_dir), self.device, self.seed, self.exclusive_device,
                       report_dir=str(report_dir) if report_dir else None)
