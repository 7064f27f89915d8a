"""Static facts (channels, sample rate) travel along the graph at validation, so a node can refuse
input it cannot take before any audio is read; the engine knows no particular node."""
from __future__ import annotations

from textwrap import dedent

import pytest

from audiostyle_engine.errors import GraphValidationError
from audiostyle_engine.graph import load_graph
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.registry import Registry
from audiostyle_engine.run import default_registry
from audiostyle_engine.spec import Node, NodeSpec, Param, ParamProblem, Port, StreamInfo
from tests.helpers.audio import sine


class Source(Node):
    spec = NodeSpec("source", "io", "test source", outputs=(Port("audio", PortKind.AUDIO),),
                    params=(Param("channels", "int", 2, min=1), Param("rate", "int", 44100, min=1)))

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": StreamInfo(params["channels"], params["rate"], origin="the test source")}


class Opaque(Node):  # says nothing about its output: everything after it is unknown
    spec = NodeSpec("opaque", "signal", "test", inputs=(Port("audio", PortKind.AUDIO),),
                    outputs=(Port("audio", PortKind.AUDIO),))


class MonoOnly(Node):
    spec = NodeSpec("mono_only", "fx", "test sink", inputs=(Port("audio", PortKind.AUDIO),),
                    params=(Param("gain", "float", 1.0),))

    @classmethod
    def check_inputs(cls, params, inputs):
        info = inputs["audio"]
        if info.channels is not None and info.channels != 1:
            return [ParamProblem("gain", f"takes mono but gets {info.channels} channels from {info.origin}")]
        return []


def registry():
    r = Registry()
    for cls in (Source, Opaque, MonoOnly):
        r.register(cls)
    return r


def write(tmp_path, text):
    path = tmp_path / "g.yaml"
    path.write_text(dedent(text).lstrip("\n"))
    return path


def test_a_node_judges_the_facts_that_reach_it_with_file_line_col(tmp_path):
    path = write(tmp_path, """
        nodes:
          src: {type: source, channels: 2}
          sink:
            type: mono_only
            inputs: {audio: src}
            gain: 0.5
        """)
    with pytest.raises(GraphValidationError, match=r"g\.yaml:6:11: node 'sink' \(mono_only\): takes mono but gets "
                                                   r"2 channels from the test source"):
        load_graph(path, registry())


def test_unknown_facts_are_not_judged(tmp_path):
    path = write(tmp_path, """
        nodes:
          src: {type: source, channels: 2}
          middle: {type: opaque, inputs: {audio: src}}
          sink: {type: mono_only, inputs: {audio: middle}}
        """)
    graph = load_graph(path, registry())
    assert graph.streams[("src", "audio")] == StreamInfo(2, 44100, origin="the test source")
    assert graph.streams[("middle", "audio")].channels is None


def test_builtin_nodes_pass_channels_and_rate_from_the_file_header(tmp_path, wav_file):
    src = wav_file("in.wav", sine(sr=22050, channels=2), sr=22050)
    path = write(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          up: {{type: resample, sample_rate: 48000, inputs: {{audio: src}}}}
          down: {{type: mono, inputs: {{audio: up}}}}
          level: {{type: normalize, inputs: {{audio: down}}}}
          both: {{type: mix, inputs: {{a: up, b: level}}}}
        """)
    graph = load_graph(path, default_registry())
    s = graph.streams
    assert (s[("src", "audio")].channels, s[("src", "audio")].sample_rate, s[("src", "audio")].frames) == (2, 22050, 22050)
    assert (s[("up", "audio")].channels, s[("up", "audio")].sample_rate) == (2, 48000)
    assert (s[("level", "audio")].channels, s[("level", "audio")].sample_rate) == (1, 48000)
    assert s[("both", "audio")].channels == 2


def test_a_missing_input_file_leaves_facts_unknown_when_files_are_not_checked(tmp_path):
    path = write(tmp_path, """
        nodes:
          src: {type: load, path: /nowhere/in.wav}
          down: {type: mono, inputs: {audio: src}}
        """)
    graph = load_graph(path, default_registry(), check_files=False)
    assert graph.streams[("src", "audio")].channels is None
    assert graph.streams[("down", "audio")].channels == 1


def test_load_reports_the_frames_left_after_offset_and_duration(tmp_path, wav_file):
    src = wav_file("in.wav", sine(sr=22050, seconds=1.0), sr=22050)
    path = write(tmp_path, f"""
        nodes:
          part: {{type: load, path: {src}, offset: 0.25, duration: 0.5}}
          rest: {{type: load, path: {src}, offset: 0.75}}
        """)
    graph = load_graph(path, default_registry())
    assert graph.streams[("part", "audio")].frames == 11025
    assert graph.streams[("rest", "audio")].frames == 5512
