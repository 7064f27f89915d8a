"""Graph validation: every problem at once, each with file:line:col and what is expected."""
from __future__ import annotations

import re
import textwrap

import pytest

from audiostyle_engine.errors import GraphValidationError
from audiostyle_engine.graph import load_graph
from audiostyle_engine.run import default_registry


@pytest.fixture(scope="module")
def registry():
    return default_registry()


def issues_of(tmp_path, registry, text: str, variables=None) -> list[str]:
    path = tmp_path / "graph.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(GraphValidationError) as info:
        load_graph(path, registry, variables)
    return [str(i) for i in info.value.issues]


def test_three_mistakes_give_three_located_errors(tmp_path, registry, wav_file):
    from tests.helpers.audio import sine

    src = wav_file("in.wav", sine())
    issues = issues_of(tmp_path, registry, f"""\
        nodes:
          src:
            type: load
            path: {src}
          spec:
            type: stfft
            inputs: {{audio: src}}
          level:
            type: normalize
            inputs: {{audio: src}}
            peak_db: 3
          save:
            type: write
            inputs: {{audio: level}}
            path: {tmp_path}/out.wav
            bitdepth: 16
        """)
    assert len(issues) == 3
    assert all(re.match(rf"{re.escape(str(tmp_path))}/graph.yaml:\d+:\d+: ", i) for i in issues)
    assert "graph.yaml:6:11: node 'spec': unknown node type 'stfft'; did you mean 'stft'?" in issues[0]
    assert "graph.yaml:11:14:" in issues[1] and "peak_db=3.0 is out of range; expected a value in [-60, 0]" in issues[1]
    assert "graph.yaml:16:5:" in issues[2] and "unknown param 'bitdepth'; did you mean 'bit_depth'?" in issues[2]


def test_wrong_types_missing_params_and_choices(tmp_path, registry):
    issues = issues_of(tmp_path, registry, """\
        nodes:
          a: {type: load}
          b: {type: mono, inputs: {audio: a}, mode: loud, channel: one}
        """)
    text = "\n".join(issues)
    assert "graph.yaml:2:3: node 'a' (load): missing required param 'path'" in text
    assert "param mode='loud' is not allowed; expected one of 'mean', 'channel'" in text
    assert "param channel='one' must be an integer" in text


def test_connection_errors(tmp_path, registry, wav_file):
    from tests.helpers.audio import sine

    src = wav_file("in.wav", sine())
    issues = issues_of(tmp_path, registry, f"""\
        nodes:
          a: {{type: load, path: {src}}}
          spec: {{type: stft, inputs: {{audio: a}}}}
          wrong_kind: {{type: mono, inputs: {{audio: spec}}}}
          dangling: {{type: mono, inputs: {{audio: nowhere}}}}
          bad_port: {{type: mono, inputs: {{audio: a.samples}}}}
          unconnected: {{type: mono}}
          st: {{type: style_transfer, inputs: {{content: spec, styel: spec}}}}
        """)
    text = "\n".join(issues)
    assert "input 'audio' takes audio but 'spec.spectrogram' gives spectrogram" in text
    assert "input 'audio' comes from unknown node 'nowhere'" in text
    assert "'a' (load) has no output 'samples'" in text
    assert "node 'unconnected' (mono): required input 'audio' (audio) is not connected" in text
    assert "unknown input port 'styel'; did you mean 'style'?" in text
    assert "required input 'style' (spectrogram) is not connected" in text


def test_cycle_is_reported(tmp_path, registry):
    issues = issues_of(tmp_path, registry, """\
        nodes:
          a: {type: mono, inputs: {audio: b}}
          b: {type: mono, inputs: {audio: a}}
        """)
    assert issues == [f"{tmp_path}/graph.yaml:2:3: the graph has a cycle: a → b → a; a node's output must not feed back into it"]


def test_duplicate_keys_and_syntax_errors(tmp_path, registry):
    issues = issues_of(tmp_path, registry, """\
        nodes:
          a: {type: mono, inputs: {audio: a2}}
          a: {type: mono}
        """)
    assert any("graph.yaml:3:3: duplicate key 'a' (first at line 2)" in i for i in issues)
    issues = issues_of(tmp_path, registry, "nodes:\n  a: {type: mono\n")
    assert len(issues) == 1 and "YAML syntax error" in issues[0] and issues[0].startswith(f"{tmp_path}/graph.yaml:")


def test_variables_substitute_typed_and_report_unknown(tmp_path, registry, wav_file):
    from tests.helpers.audio import sine

    src = wav_file("in.wav", sine())
    path = tmp_path / "graph.yaml"
    path.write_text(textwrap.dedent("""\
        variables:
          content: missing.wav
          level: -3
        nodes:
          a: {type: load, path: "${content}"}
          n: {type: normalize, inputs: {audio: a}, peak_db: "${level}"}
          w: {type: write, inputs: {audio: n}, path: "${out}/x.wav"}
        """))
    graph = load_graph(path, registry, {"content": str(src), "level": -6.5, "out": str(tmp_path)})
    assert graph.nodes["n"].params["peak_db"] == -6.5
    assert graph.nodes["w"].params["path"] == f"{tmp_path}/x.wav"
    with pytest.raises(GraphValidationError) as info:
        load_graph(path, registry, {"content": str(src), "outt": "x"})
    text = str(info.value)
    assert "graph.yaml:7:46: undefined variable '${out}'; did you mean '${outt}'?" in text
    assert "--set outt=...: the graph uses no variable 'outt'" in text


def test_files_checked_before_running(tmp_path, registry):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    issues = issues_of(tmp_path, registry, f"""\
        nodes:
          a: {{type: load, path: {tmp_path}/absent.wav}}
          w: {{type: write, inputs: {{audio: a}}, path: {blocker}/out.wav}}
          v: {{type: write, inputs: {{audio: a}}, path: {tmp_path}/out.xyz}}
        """)
    text = "\n".join(issues)
    assert f"input file not found: {tmp_path}/absent.wav" in text
    assert f"cannot write {blocker}/out.wav: {blocker} is not a folder" in text
    assert "cannot write '.xyz' files" in text


def test_fx_chain_checked_against_pedalboard(tmp_path, registry, wav_file):
    from tests.helpers.audio import sine

    src = wav_file("in.wav", sine())
    issues = issues_of(tmp_path, registry, f"""\
        nodes:
          a: {{type: load, path: {src}}}
          f:
            type: fx
            inputs: {{audio: a}}
            chain:
              - {{effect: Compresor, ratio: 2}}
              - {{effect: Reverb, room_sise: 0.5}}
              - {{effect: Reverb, room_size: 1.7}}
        """)
    assert "graph.yaml:7:18:" in issues[0] and "unknown effect 'Compresor'; did you mean 'Compressor'?" in issues[0]
    assert "graph.yaml:8:37:" in issues[1] and "Reverb has no parameter 'room_sise'; did you mean 'room_size'?" in issues[1]
    assert "graph.yaml:9:37:" in issues[2] and "Room Size value must be between 0.0 and 1.0" in issues[2]


def test_every_bundled_graph_validates(registry):
    from pathlib import Path

    graphs = sorted((Path(__file__).resolve().parents[2] / "graphs").glob("*.yaml"))
    assert graphs
    for g in graphs:
        graph = load_graph(g, registry)
        assert graph.order
