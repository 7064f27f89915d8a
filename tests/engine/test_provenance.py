"""A provenance sidecar beside each output: enough to reproduce it, committed with it or not at all."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from audiostyle_engine.errors import AudiostyleError
from audiostyle_engine.provenance import sidecar_path
from audiostyle_engine.run import prepare, run_graph
from tests.helpers.graphs import write_graph
from tests.helpers.plugins import COMP_STEREO, needs_zam_plugins
from tests.helpers.audio import sine

COMP = str(COMP_STEREO)


def graph_file(tmp_path, src, out, extra_chain=""):
    return write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: {COMP}
                params: {{threshold_db: -24, ratio: 6}}
              - effect: Reverb
                room_size: 0.3
              {extra_chain}
          save: {{type: write, inputs: {{audio: fx}}, path: {out}}}
        """)


@needs_zam_plugins
def test_sidecar_records_graph_params_plugin_state_loudness_and_versions(tmp_path, wav_file):
    import pedalboard

    src = wav_file("in.wav", sine(channels=2, seconds=1.0))
    out = tmp_path / "out" / "styled.wav"
    path = graph_file(tmp_path, src, out)
    result = run_graph(path, device="cpu", seed=7)
    assert result.outputs == [out]
    doc = json.loads(sidecar_path(out).read_text())
    assert doc["output"] == str(out.resolve())
    assert doc["output_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert doc["graph"]["fingerprint"] == prepare(path).fingerprint
    assert doc["graph"]["nodes"]["fx"]["params"]["chain"][0]["params"] == {"threshold_db": -24, "ratio": 6}
    assert doc["device"] == "cpu" and doc["seed"] == 7
    assert doc["libraries"]["pedalboard"] == pedalboard.__version__
    plugin = doc["records"]["fx"]["plugins"][0]
    assert plugin["path"] == COMP and len(plugin["state_sha256"]) == 16 and len(plugin["binary_sha256"]) == 16
    loudness = doc["records"]["fx"]["loudness"]
    assert loudness["after"]["integrated_lufs"] < loudness["before"]["integrated_lufs"]  # compressed, no make-up gain
    assert loudness["before"]["true_peak_dbtp"] == pytest.approx(20 * __import__("math").log10(0.5), abs=0.2)


@needs_zam_plugins
def test_state_hash_follows_the_parameters(tmp_path, wav_file):
    src = wav_file("in.wav", sine(channels=2))
    hashes = []
    for ratio in (6, 6, 3):
        out = tmp_path / f"o{ratio}_{len(hashes)}.wav"
        path = graph_file(tmp_path, src, out).read_text().replace("ratio: 6", f"ratio: {ratio}")
        (tmp_path / "h.yaml").write_text(path)
        run_graph(tmp_path / "h.yaml", device="cpu")
        hashes.append(json.loads(sidecar_path(out).read_text())["records"]["fx"]["plugins"][0]["state_sha256"])
    assert hashes[0] == hashes[1] != hashes[2]


@needs_zam_plugins
def test_a_failed_run_leaves_neither_output_nor_sidecar(tmp_path, wav_file):
    src = wav_file("in.wav", sine(channels=2))
    out = tmp_path / "out.wav"
    path = graph_file(tmp_path, src, out)
    text = path.read_text() + "  strict:\n    type: write\n    inputs: {audio: fx}\n    path: " + str(tmp_path / "b.wav") + "\n    clip: error\n"
    text = text.replace("room_size: 0.3", "room_size: 0.3\n      - effect: Gain\n        gain_db: 30")
    path.write_text(text)
    with pytest.raises(AudiostyleError, match="above full scale"):
        run_graph(path, device="cpu")
    assert sorted(p.name for p in Path(tmp_path).iterdir() if p.suffix in (".wav", ".json")) == ["in.wav"]
