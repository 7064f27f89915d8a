"""`audiostyle plugins inspect|list|save-state` and plugin errors through `audiostyle validate`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.graphs import write_graph
from tests.helpers.plugins import COMP_STEREO, needs_zam_plugins
from tests.helpers.audio import sine

REPO = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@needs_zam_plugins
def test_inspect_a_zam_plugin_shows_parameters_with_ranges_units_defaults_and_channels():
    r = cli("plugins", "inspect", str(COMP_STEREO))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("ZamCompX2  [VST3]")
    assert "channels:     stereo (2)" in out
    assert "threshold_db        float    default 0 dB, range [-80, 0] dB" in out
    assert "current_program     choice   default 'Zero'; one of 'Zero', 'PoppySnare', 'VocalLeveller'" in out
    assert "stereo_detection    bool     default False" in out
    assert "gain_reduction_db" in out.split("Read-only")[1]  # a meter, listed apart


@needs_zam_plugins
def test_inspect_by_name_a_mono_plugin_and_a_builtin_effect():
    r = cli("plugins", "inspect", "ZamAutoSat")
    assert r.returncode == 0 and "channels:     mono (1)" in r.stdout
    r = cli("plugins", "inspect", "Compresor")
    assert r.returncode == 1 and "did you mean 'Compressor'?" in r.stderr
    r = cli("plugins", "inspect", "Compressor")
    assert r.returncode == 0 and "threshold_db" in r.stdout and "[pedalboard built-in]" in r.stdout


@needs_zam_plugins
def test_list_scans_plugin_folders(tmp_path):
    r = cli("plugins", "list")
    assert r.returncode == 0
    assert "ZamCompX2" in r.stdout and str(COMP_STEREO) in r.stdout and "Reverb" in r.stdout
    (tmp_path / "Mine.vst3").mkdir()
    r = cli("plugins", "list", "--folder", tmp_path)
    assert "Mine" in r.stdout and "ZamCompX2" not in r.stdout


@needs_zam_plugins
def test_save_state_then_validate_and_run_a_graph_that_uses_it(tmp_path):
    from tests.helpers.audio import write_audio

    preset = tmp_path / "squash.vstpreset"
    r = cli("plugins", "save-state", "ZamCompX2", preset, "--param", "threshold_db=-30", "--param", "ratio=8")
    assert r.returncode == 0, r.stderr
    assert preset.read_bytes().startswith(b"VST3")
    r = cli("plugins", "save-state", "ZamCompX2", tmp_path / "x.state", "--param", "ratio=99")
    assert r.returncode == 1 and "ratio=99 out of range [1, 20]" in r.stderr
    src = write_audio(tmp_path / "in.wav", sine(channels=2))
    graph = write_graph(tmp_path, f"""
        nodes:
          src: {{type: load, path: {src}}}
          fx:
            type: fx
            inputs: {{audio: src}}
            chain:
              - plugin: ZamCompX2
                preset: {preset}
                params: {{knee_db: 99}}
          save: {{type: write, inputs: {{audio: fx}}, path: {tmp_path / 'out.wav'}}}
        """)
    r = cli("validate", graph)
    assert r.returncode == 2
    assert f"{graph}:9:" in r.stderr and "knee_db=99 out of range [0, 8] dB" in r.stderr
    graph.write_text(graph.read_text().replace("knee_db: 99", "knee_db: 4"))
    assert cli("validate", graph).returncode == 0
    r = cli("run", graph, "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.wav").exists() and (tmp_path / "out.wav.provenance.json").exists()
    (tmp_path / "out.wav.provenance.json").unlink()
    assert cli("run", graph, "--quiet", "--no-provenance").returncode == 0
    assert not (tmp_path / "out.wav.provenance.json").exists()
