"""Loudness measurements recorded around fx chains: BS.1770 integrated loudness and true peak."""
from __future__ import annotations

import numpy as np
import pytest

from nodes._fx.loudness import measure, true_peak_dbtp


def test_true_peak_sees_the_peak_between_samples():
    n = np.arange(44100)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4).astype(np.float32)[None, :]  # fs/4: every sample misses the crest
    fade = np.linspace(0, 1, 2000, dtype=np.float32)
    x[:, :2000] *= fade  # no clicks at the ends: their overshoot is not what this measures
    x[:, -2000:] *= fade[::-1]
    sample_peak_db = 20 * np.log10(np.max(np.abs(x)))
    assert sample_peak_db == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x, 44100) == pytest.approx(0.0, abs=0.1)


def test_integrated_loudness_of_a_sine_and_silence():
    t = np.arange(2 * 48000) / 48000
    tone = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)[None, :]
    result = measure(tone, 48000)
    assert result["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)  # -20 dBFS sine: -3.01 LUFS minus 20 dB
    assert result["true_peak_dbtp"] == pytest.approx(-20.0, abs=0.05)
    assert measure(np.zeros((1, 48000), np.float32), 48000) == {"integrated_lufs": None, "true_peak_dbtp": None}


def test_true_peak_in_chunks_equals_one_pass(rng):
    from scipy.signal import resample_poly

    x = (0.3 * rng.standard_normal((2, 700_000))).astype(np.float32)  # several chunks
    one_pass = np.max(np.abs(resample_poly(x.astype(np.float64), 4, 1, axis=-1)))
    assert true_peak_dbtp(x, 44100) == pytest.approx(20 * np.log10(max(one_pass, np.max(np.abs(x)))), abs=1e-9)
