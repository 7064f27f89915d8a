"""stft and istft: exact round trip with phase, bounded error without it."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.payloads import Audio
from nodes import Istft, Stft
from tests.helpers.audio import SR, chirp, noise, sine
from tests.helpers.nodes import run_node


def spectral_convergence(a: np.ndarray, b: np.ndarray, n_fft=2048, hop=512) -> float:
    import librosa

    sa = np.abs(librosa.stft(a, n_fft=n_fft, hop_length=hop))
    sb = np.abs(librosa.stft(b, n_fft=n_fft, hop_length=hop))
    return float(np.linalg.norm(sa - sb) / np.linalg.norm(sa))


@pytest.mark.parametrize("scale", ["log1p", "linear"])
def test_round_trip_with_phase_is_exact(scale, rng):
    x = np.concatenate([chirp(seconds=1.0), noise(rng, seconds=1.0)], axis=1)
    audio = Audio(np.vstack([x, 0.5 * x[:, ::-1]]), SR)
    spec = run_node(Stft, {"audio": audio}, scale=scale)[0]["spectrogram"]
    assert spec.magnitude.shape == (2, 1025, audio.frames // 512 + 1)
    assert spec.scale == scale and spec.length == audio.frames
    back = run_node(Istft, {"spectrogram": spec})[0]["audio"]
    assert back.samples.shape == audio.samples.shape
    assert np.max(np.abs(back.samples - audio.samples)) < 1e-5
    assert spectral_convergence(audio.samples[0], back.samples[0]) < 1e-3


def test_log1p_scale_matches_the_paper():
    audio = Audio(sine(seconds=0.5), SR)
    lin = run_node(Stft, {"audio": audio}, scale="linear")[0]["spectrogram"]
    log = run_node(Stft, {"audio": audio}, scale="log1p")[0]["spectrogram"]
    assert np.allclose(log.magnitude, np.log1p(lin.magnitude), atol=1e-5)
    # A 440 Hz sine peaks in the bin nearest 440 Hz.
    assert abs(np.argmax(lin.magnitude[0, :, 20]) * SR / 2048 - 440) < SR / 2048


def test_griffin_lim_without_phase_stays_within_bound():
    x = np.concatenate([sine(hz=330, seconds=1.0), chirp(seconds=1.0)], axis=1)
    audio = Audio(x, SR)
    spec = run_node(Stft, {"audio": audio}, keep_phase=False)[0]["spectrogram"]
    assert spec.phase is None
    out, records, _ = run_node(Istft, {"spectrogram": spec}, griffin_lim_iterations=100)
    sc = spectral_convergence(x[0], out["audio"].samples[0])
    # Fast Griffin-Lim reaches ~0.02 on tonal audio in 100 iterations; random phase alone is ~0.5+.
    assert sc < 0.08
    assert records["spectral_convergence"] < 0.08
    random_phase = run_node(Istft, {"spectrogram": spec}, griffin_lim_iterations=0)[0]["audio"]
    assert spectral_convergence(x[0], random_phase.samples[0]) > 3 * sc


def test_stft_rejects_hop_longer_than_window():
    from audiostyle_engine.spec import ParamProblem

    params = {p.name: p.default for p in Stft.spec.params}
    params.update(hop_length=4096)
    problems = Stft.check_params(params)
    assert problems and isinstance(problems[0], ParamProblem) and "hop_length=4096" in problems[0].message
