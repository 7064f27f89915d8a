"""The quality measures behave as measures: level-blind, zero at identity, ordered along a mix."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine import quality
from tests.helpers.audio import SR, chirp, noise

SECONDS = 1.5


def _clicks(rng, bpm: float) -> np.ndarray:
    """Noise bursts on a beat: a signal with a rhythm."""
    x = np.zeros(int(SR * SECONDS))
    burst = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / (0.005 * SR))
    for start in np.arange(0, SECONDS, 60 / bpm):
        i = int(start * SR)
        x[i:i + burst.size] += burst[:x.size - i]
    return x


@pytest.fixture
def pair(rng):
    content = chirp(seconds=SECONDS, f0=200, f1=2000)[0].astype(np.float64)
    style = _clicks(rng, 240) + 0.05 * noise(rng, seconds=SECONDS)[0]
    return content, style


def test_measures_ignore_level(pair):
    content, style = pair
    loud = quality.evaluate(content, content, style, SR)
    quiet = quality.evaluate(0.01 * content, content, 3 * style, SR)
    for key, value in loud.items():
        assert quiet[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_identity_is_zero_distance_and_full_correlation(pair):
    content, style = pair
    at_style = quality.evaluate(style, content, style, SR)
    assert all(at_style[k] == pytest.approx(0.0, abs=1e-9) for k in quality.STYLE_MEASURES)
    assert quality.content_correlation(content, content) == pytest.approx(1.0)


def test_a_mix_sits_between_content_and_style(pair):
    content, style = pair
    ref = quality.style_distances(content, style, SR)
    mix = quality.equal_rms(content) + quality.equal_rms(style)
    pos = quality.positions(quality.style_distances(mix, style, SR), ref)
    assert set(pos) == set(quality.STYLE_MEASURES)
    assert 0.0 < np.mean(list(pos.values())) < 1.0
    assert 0.0 < quality.content_correlation(mix, content) < 1.0


def test_rhythm_distance_separates_tempi(rng):
    a, b, c = _clicks(rng, 240), _clicks(rng, 240), _clicks(rng, 170)
    ma, mb, mc = (quality.log_mel(x, SR) for x in (a, b, c))
    assert quality.rhythm_distance(ma, mb, SR) < 0.5 * quality.rhythm_distance(ma, mc, SR)


def test_gram_needs_enough_frames():
    with pytest.raises(ValueError, match="51-frame conv needs at least 51 frames"):
        quality.random_conv_gram(np.zeros((quality.N_MELS, 20)), 51)


def test_griffin_lim_convergence_is_small_for_real_audio():
    assert quality.griffin_lim_convergence(chirp(seconds=1.0)[0].astype(np.float64), iterations=30) < 0.2
