"""A validated graph takes new variable values without a second parse (batch and watch bind each file
to it), and a hostile YAML file cannot make loading run away."""
from __future__ import annotations

import time

import pytest

from audiostyle_engine.errors import GraphValidationError
from audiostyle_engine.run import default_registry, prepare
from tests.helpers.audio import sine, write_audio

GRAPH = """\
variables: {content: missing.wav, out: out/result.wav, room: 0.3}
nodes:
  source: {type: load, path: "${content}"}
  chain:
    type: fx
    inputs: {audio: source}
    chain:
      - {effect: Reverb, room_size: "${room}"}
  save: {type: write, inputs: {audio: chain}, path: "${out}"}
"""


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GRAPH, encoding="utf-8")
    return prepare(path, {"content": tmp_path / "probe.wav"}, check_files=False)


def test_bind_sets_typed_paths_and_nested_values_without_parsing_again(tmp_path, template, monkeypatch):
    import yaml

    mono, stereo = write_audio(tmp_path / "mono.wav", sine(channels=1)), write_audio(tmp_path / "st.wav", sine(channels=2))
    monkeypatch.setattr(yaml, "compose", lambda *a, **k: pytest.fail("bind parsed the file again"))
    a = template.bind({"content": mono, "out": tmp_path / "a.flac"})
    b = template.bind({"content": stereo, "out": tmp_path / "b.wav", "room": 0.7})
    assert a.nodes["source"].params["path"] == str(mono) and a.nodes["save"].params["path"] == str(tmp_path / "a.flac")
    assert b.nodes["chain"].params["chain"][0]["room_size"] == 0.7  # typed: a float, not the text "0.7"
    assert template.nodes["chain"].params["chain"][0]["room_size"] == 0.3  # the template is left as it was
    assert a.streams[("source", "audio")].channels == 1 and b.streams[("chain", "audio")].channels == 2
    assert a.fingerprint != b.fingerprint and a.variables["content"] == mono


def test_bind_checks_what_changed_and_points_into_the_file(tmp_path, template):
    with pytest.raises(GraphValidationError) as info:
        template.bind({"content": tmp_path / "nowhere.wav", "out": tmp_path / "x.xyz", "room": 7})
    text = str(info.value)
    assert "3 errors:" in text
    assert f"g.yaml:3:30: node 'source': input file not found: {tmp_path / 'nowhere.wav'}" in text
    assert "g.yaml:8:37:" in text and "room_size" in text  # inside the chain, at the value
    assert "g.yaml:9:53: node 'save' (write): cannot write '.xyz' files" in text
    with pytest.raises(GraphValidationError, match="the graph uses no variable 'contnet'"):
        template.bind({"contnet": tmp_path / "a.wav"})


def test_nested_alias_bomb_fails_fast_with_one_located_error(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]  # 9^9 values
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines + ["nodes: *a8"]) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(GraphValidationError) as info:
        prepare(path, registry=default_registry())
    seconds = time.perf_counter() - t0
    assert len(info.value.issues) == 1
    assert str(info.value).startswith(f"{path}:1:") and "nested YAML aliases" in str(info.value)
    assert seconds < 30  # a guard against a hang, not a speed assertion (it takes ~0.1 s)
