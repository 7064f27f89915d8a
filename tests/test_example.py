"""The bundled example at full size (about two minutes on 2 cores): pytest -m slow."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def log_spectrogram(x: np.ndarray) -> np.ndarray:
    import librosa

    return np.log1p(np.abs(librosa.stft(x, n_fft=2048, hop_length=512)))


@pytest.mark.slow
def test_bundled_example_styles_the_melody(tmp_path):
    from audiostyle_engine.run import run_graph
    from tests.helpers.audio import read_audio

    out = tmp_path / "example.wav"
    result = run_graph(REPO / "graphs/example.yaml", {"out": str(out)})
    history = result.records["styled"]["history"]
    assert history["loss"][-1] <= history["loss"][0] / 3
    styled, sr = read_audio(out)
    content, _ = read_audio(REPO / "examples/content.flac")
    style, _ = read_audio(REPO / "examples/style.flac")
    n = styled.shape[1]
    s_out, s_content, s_style = (log_spectrogram(x[0, :n]) for x in (styled, content, style))
    corr = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert corr(s_out, s_content) > corr(s_out, s_style)
