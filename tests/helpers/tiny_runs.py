"""Shared inputs for the report tests: 1 s of generated audio and one tiny style-transfer run with a
dry/wet mix, made once per session."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SR = 22050

TINY_GRAPH = """
description: tiny report test graph
variables: {content: content.wav, style: style.wav, out: out/tiny.wav}
nodes:
  c: {type: load, path: "${content}"}
  s: {type: load, path: "${style}"}
  cs: {type: stft, inputs: {audio: c}, n_fft: 512, hop_length: 128}
  ss: {type: stft, inputs: {audio: s}, n_fft: 512, hop_length: 128}
  st: {type: style_transfer, inputs: {content: cs, style: ss}, n_filters: 64, iterations: 20}
  back: {type: istft, inputs: {spectrogram: st}, griffin_lim_iterations: 16}
  dry: {type: normalize, inputs: {audio: c}, peak_db: -6.0}
  wet: {type: normalize, inputs: {audio: back}, peak_db: -6.0}
  blend: {type: mix, inputs: {a: dry, b: wet}, balance: 0.7}
  save: {type: write, inputs: {audio: blend}, path: "${out}"}
"""

FX_GRAPH = """
description: no style transfer, just a level change
report: {dir: "${graph_dir}/fx_report"}
variables: {content: "${graph_dir}/content.wav"}
nodes:
  src: {type: load, path: "${content}"}
  quieter: {type: normalize, inputs: {audio: src}, peak_db: -12.0}
  save: {type: write, inputs: {audio: quieter}, path: "${graph_dir}/out/fx.wav"}
"""


def write_wav(path: Path, samples: np.ndarray, sr: int = SR) -> Path:
    from pedalboard.io import AudioFile

    with AudioFile(str(path), "w", samplerate=sr, num_channels=samples.shape[0], bit_depth=16) as f:
        f.write(samples.astype(np.float32))
    return path


def content_signal(seconds: float = 1.0) -> np.ndarray:
    """An exponential chirp 200 Hz → 4 kHz: clear structure to keep."""
    t = np.arange(int(SR * seconds)) / SR
    k = np.log(4000 / 200) / seconds
    return (0.5 * np.sin(2 * np.pi * 200 * (np.exp(k * t) - 1) / k)).astype(np.float32)[None, :]


def style_signal(seconds: float = 1.0, seed: int = 7) -> np.ndarray:
    """Noise gated at 6 Hz: a rhythmic texture."""
    t = np.arange(int(SR * seconds)) / SR
    noise = np.random.default_rng(seed).standard_normal(t.size) * 0.2
    return (noise * (np.sin(2 * np.pi * 6 * t) > 0.3)).astype(np.float32)[None, :]


def make_inputs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_wav(folder / "content.wav", content_signal())
    write_wav(folder / "style.wav", style_signal())


_cache: dict = {}


@pytest.fixture
def tiny_run(tmp_path_factory):
    """One tiny style-transfer run with a report, shared by every test of the session."""
    if "run" not in _cache:
        from audiostyle_engine.report import run_with_report
        from audiostyle_engine.run import prepare

        folder = tmp_path_factory.mktemp("tiny_run")
        make_inputs(folder)
        graph_path = folder / "tiny.yaml"
        graph_path.write_text(TINY_GRAPH)
        events = []
        graph = prepare(graph_path, {"content": str(folder / "content.wav"), "style": str(folder / "style.wav"),
                                     "out": str(folder / "out" / "tiny.wav")})
        reported = run_with_report(graph, folder / "report", seed=3, hooks=[events.append])
        _cache["run"] = SimpleNamespace(folder=folder, graph=graph, reported=reported, events=events,
                                        report_dir=folder / "report", out_path=folder / "out" / "tiny.wav")
    return _cache["run"]
