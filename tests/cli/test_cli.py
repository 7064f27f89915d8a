"""The audiostyle command end to end, as a user runs it (a subprocess, real files)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.audio import SR, chirp, noise, read_audio, sine, write_audio

REPO = Path(__file__).resolve().parents[2]

TINY_GRAPH = """\
variables:
  content: missing.wav
  style: missing.wav
  out: out.wav
nodes:
  c: {type: load, path: "${content}", min_seconds: 0.5}
  c_mono: {type: mono, inputs: {audio: c}}
  c_spec: {type: stft, inputs: {audio: c_mono}, n_fft: 256, hop_length: 128}
  s: {type: load, path: "${style}", min_seconds: 0.5}
  s_mono: {type: mono, inputs: {audio: s}}
  s_spec: {type: stft, inputs: {audio: s_mono}, n_fft: 256, hop_length: 128}
  styled: {type: style_transfer, inputs: {content: c_spec, style: s_spec}, n_filters: 256, kernel_width: 5, iterations: 15}
  audio: {type: istft, inputs: {spectrogram: styled}, griffin_lim_iterations: 20}
  level: {type: normalize, inputs: {audio: audio}}
  save: {type: write, inputs: {audio: level}, path: "${out}"}
  dry: {type: write, inputs: {audio: c_mono}, path: "${out}.dry.wav"}
"""


def audiostyle(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                               "AUDIOSTYLE_CACHE_DIR": os.environ["AUDIOSTYLE_CACHE_DIR"]}, timeout=300)


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(3)
    graph = tmp_path / "tiny.yaml"
    graph.write_text(TINY_GRAPH)
    content = write_audio(tmp_path / "content.wav", np.concatenate([sine(seconds=0.6), chirp(seconds=0.6)], axis=1))
    style = write_audio(tmp_path / "style.wav", noise(rng, seconds=1.5))
    return graph, content, style


def test_run_writes_every_output(tiny, tmp_path):
    graph, content, style = tiny
    out = tmp_path / "result" / "styled.wav"
    proc = audiostyle("run", graph, "--set", f"content={content}", "--set", f"style={style}", "--set", f"out={out}", "--seed", 1)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and "styled: loss" in proc.stdout
    assert "styled: precision: fp32\nstyled: precision reason: fp32 requested (exact)\n" in proc.stdout
    samples, sr = read_audio(out)
    assert sr == SR and samples.shape == (1, int(1.2 * SR))
    assert abs(20 * np.log10(np.max(np.abs(samples))) + 1.0) < 0.1  # the normalize node's -1 dBFS
    dry, _ = read_audio(Path(f"{out}.dry.wav"))
    assert dry.shape == samples.shape
    assert sorted(p.name for p in out.parent.iterdir()) == ["styled.wav", "styled.wav.dry.wav",
                                                            "styled.wav.dry.wav.provenance.json", "styled.wav.provenance.json"]


def test_run_log_json_reports_progress(tiny, tmp_path):
    import json

    graph, content, style = tiny
    proc = audiostyle("run", graph, "--set", f"content={content}", "--set", f"style={style}",
                      "--set", f"out={tmp_path / 'o.wav'}", "--log-json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["event"] == "run_done" and events[-1]["style_transfer"]["styled"]["iterations"] == 15
    assert events[-1]["style_transfer"]["styled"]["stopped"] == "iterations"
    assert events[-1]["style_transfer"]["styled"]["facts"]["precision"] == "fp32"
    assert {e["node"] for e in events if e["event"] == "node_done"} >= {"c", "styled", "save"}


def test_validate_lists_three_mistakes(tmp_path, tiny):
    _, content, _ = tiny
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(f"""\
        nodes:
          c: {{type: load, path: {content}}}
          spec: {{type: stft, inputs: {{audio: c}}, n_ftt: 1024}}
          level: {{type: normalise, inputs: {{audio: c}}}}
          save: {{type: write, inputs: {{audio: spec}}, path: {tmp_path}/x.wav}}
        """))
    proc = audiostyle("validate", bad)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "error: 3 errors:"
    assert lines[1] == f"{bad}:3:42: node 'spec' (stft): unknown param 'n_ftt'; did you mean 'n_fft'?"
    assert lines[2] == f"{bad}:4:17: node 'level': unknown node type 'normalise'; did you mean 'normalize'?"
    assert lines[3].startswith(f"{bad}:5:39: node 'save': input 'audio' takes audio but 'spec.spectrogram' gives spectrogram")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("problem", ["missing", "corrupt", "short"])
def test_bad_inputs_give_one_line_and_no_output(problem, tiny, tmp_path):
    graph, content, style = tiny
    if problem == "missing":
        bad = tmp_path / "nope.wav"
        expected = f"input file not found: {bad}"
    elif problem == "corrupt":
        bad = tmp_path / "corrupt.wav"
        bad.write_bytes(content.read_bytes()[:2000])
        expected = f"'{bad}' is truncated"
    else:
        bad = write_audio(tmp_path / "short.wav", sine(seconds=0.2))
        expected = f"'{bad}' is 0.20 s long but at least 0.5 s are needed"
    out = tmp_path / "out" / "x.wav"
    proc = audiostyle("run", graph, "--set", f"content={bad}", "--set", f"style={style}", "--set", f"out={out}")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and expected in proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) <= 2  # "N errors:" header plus the error, at most
    assert not out.exists() and not Path(f"{out}.dry.wav").exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_nodes_and_help():
    proc = audiostyle("nodes")
    assert proc.returncode == 0
    for name in ("load", "resample", "mono", "trim", "normalize", "stft", "style_transfer", "istft", "fx", "write"):
        assert f"\n{name} " in "\n" + proc.stdout
    detail = audiostyle("nodes", "stft").stdout
    assert "n_fft" in detail and "default 2048" in detail and "spectrogram" in detail
    wrong = audiostyle("nodes", "sftf")
    assert wrong.returncode == 1 and "did you mean 'stft'" in wrong.stderr
    for sub in ("run", "validate", "nodes"):
        assert audiostyle(sub, "--help").returncode == 0


def test_cuda_request_without_cuda_is_a_clear_error(tiny, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    graph, content, style = tiny
    proc = audiostyle("run", graph, "--set", f"content={content}", "--set", f"style={style}",
                      "--set", f"out={tmp_path / 'x.wav'}", "--device", "cuda")
    assert proc.returncode == 1 and "no CUDA device is available; use --device cpu or auto" in proc.stderr


def test_second_run_with_the_same_style_uses_the_cache(tiny, tmp_path):
    import json

    graph, content, style = tiny
    cache = tmp_path / "cache"

    def run(out):
        proc = audiostyle("run", graph, "--set", f"content={content}", "--set", f"style={style}", "--set", f"out={out}",
                          "--cache-dir", cache, "--no-provenance")
        assert proc.returncode == 0, proc.stderr
        return proc

    run(tmp_path / "a.wav")
    files = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert files  # the style targets were stored
    run(tmp_path / "b.wav")
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == files  # found, not stored again
    assert read_audio(tmp_path / "a.wav")[0].shape == read_audio(tmp_path / "b.wav")[0].shape


def test_a_closed_pipe_ends_quietly():
    # `audiostyle nodes | head -1`: the reader goes away before the listing is written.
    proc = subprocess.Popen([sys.executable, "-m", "cli", "nodes"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and "Traceback" not in err and "internal error" not in err, err
