"""The executor on a registry of tiny test nodes: the engine needs none of the built-in nodes."""
from __future__ import annotations

import gc
import textwrap
import weakref

import numpy as np
import pytest

from audiostyle_engine.errors import AudiostyleError
from audiostyle_engine.executor import execute
from audiostyle_engine.graph import load_graph
from audiostyle_engine.payloads import Audio, PortKind
from audiostyle_engine.registry import Registry
from audiostyle_engine.spec import Node, NodeSpec, Param, Port

ALIVE: dict[str, weakref.ref] = {}


class Tone(Node):
    spec = NodeSpec("tone", "test", "a constant signal", outputs=(Port("audio", PortKind.AUDIO),),
                    params=(Param("value", "float", 1.0),))

    def process(self, ctx, **_):
        audio = Audio(np.full((1, 100), self.params["value"], np.float32), 1000)
        ALIVE[self.node_id] = weakref.ref(audio)
        return {"audio": audio}


class Scale(Node):
    spec = NodeSpec("scale", "test", "multiply", inputs=(Port("audio", PortKind.AUDIO),),
                    outputs=(Port("audio", PortKind.AUDIO),), params=(Param("by", "float", 2.0),))

    def process(self, ctx, audio):
        ctx.progress(1, 1, "scaled")
        out = audio.with_samples(audio.samples * self.params["by"])
        ALIVE[self.node_id] = weakref.ref(out)
        return {"audio": out}


class Fail(Node):
    spec = NodeSpec("fail", "test", "always fails", inputs=(Port("audio", PortKind.AUDIO),))

    def process(self, ctx, audio):
        raise AudiostyleError("deliberate failure")


class Save(Node):
    spec = NodeSpec("save", "test", "write raw floats", inputs=(Port("audio", PortKind.AUDIO),),
                    params=(Param("path", "out_path"),))

    def process(self, ctx, audio):
        gc.collect()
        ctx.record("alive_when_saving", sorted(k for k, ref in ALIVE.items() if ref() is not None))
        np.save(ctx.output_path(self.params["path"]), audio.samples)
        return {}


@pytest.fixture
def registry():
    r = Registry()
    for cls in (Tone, Scale, Fail, Save):
        r.register(cls)
    return r


def graph_file(tmp_path, text):
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_fan_out_and_several_outputs(tmp_path, registry):
    ALIVE.clear()
    g = load_graph(graph_file(tmp_path, f"""\
        nodes:
          src: {{type: tone, value: 0.25}}
          double: {{type: scale, inputs: {{audio: src}}, by: 2}}
          triple: {{type: scale, inputs: {{audio: src}}, by: 3}}
          save_a: {{type: save, inputs: {{audio: double}}, path: {tmp_path}/a.npy}}
          save_b: {{type: save, inputs: {{audio: triple}}, path: {tmp_path}/b.npy}}
        """), registry)
    events = []
    result = execute(g, hooks=[events.append])
    assert sorted(p.name for p in result.outputs) == ["a.npy", "b.npy"]
    assert np.allclose(np.load(tmp_path / "a.npy"), 0.5) and np.allclose(np.load(tmp_path / "b.npy"), 0.75)
    assert set(result.timings) == {"src", "double", "triple", "save_a", "save_b"}
    assert any(e.node_id == "double" and e.message == "scaled" for e in events)
    assert [e.node_id for e in events if e.finished] == g.order


def test_intermediates_are_freed_after_last_consumer(tmp_path, registry):
    ALIVE.clear()
    g = load_graph(graph_file(tmp_path, f"""\
        nodes:
          src: {{type: tone}}
          a: {{type: scale, inputs: {{audio: src}}}}
          b: {{type: scale, inputs: {{audio: a}}}}
          c: {{type: scale, inputs: {{audio: b}}}}
          out: {{type: save, inputs: {{audio: c}}, path: {tmp_path}/c.npy}}
        """), registry)
    result = execute(g)
    # When 'out' runs only its own input may still be alive; src, a and b were dropped on the way.
    assert result.records["out"]["alive_when_saving"] == ["c"]


def test_failed_run_leaves_no_output_at_all(tmp_path, registry):
    g = load_graph(graph_file(tmp_path, f"""\
        nodes:
          src: {{type: tone}}
          early: {{type: save, inputs: {{audio: src}}, path: {tmp_path}/early.npy}}
          boom: {{type: fail, inputs: {{audio: src}}}}
        """), registry)
    assert g.order.index("early") < g.order.index("boom")
    with pytest.raises(AudiostyleError, match=r"g.yaml: node 'boom' \(fail\): deliberate failure"):
        execute(g)
    assert list(tmp_path.iterdir()) == [tmp_path / "g.yaml"]


def test_existing_output_survives_a_failed_run(tmp_path, registry):
    (tmp_path / "early.npy").write_bytes(b"previous result")
    g = load_graph(graph_file(tmp_path, f"""\
        nodes:
          src: {{type: tone}}
          early: {{type: save, inputs: {{audio: src}}, path: {tmp_path}/early.npy}}
          boom: {{type: fail, inputs: {{audio: src}}}}
        """), registry)
    with pytest.raises(AudiostyleError):
        execute(g)
    assert (tmp_path / "early.npy").read_bytes() == b"previous result"


def test_duplicate_registration_is_an_error():
    r = Registry()
    r.register(Tone)

    class OtherTone(Tone):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        r.register(OtherTone)
