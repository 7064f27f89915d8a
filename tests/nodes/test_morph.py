"""morph: the band envelopes move the stated way, by the stated amount, while the signal's partials stay."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import Audio
from nodes import Morph
from tests.helpers.audio import SR, sine
from tests.helpers.nodes import run_node


def _band_db(x: np.ndarray, bands: int = 64) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=x.astype(np.float64), sr=SR, n_fft=2048, hop_length=512, n_mels=bands)
    return 10 * np.log10(mel / mel.sum() + 1e-12)


def _harmonic(seconds: float = 2.0, f0: float = 220.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 30)).astype(np.float32)[None, :]


def _bursts(rng, seconds: float = 2.0, rate_hz: float = 4.0) -> np.ndarray:
    """Bright noise bursts at rate_hz: a rhythm and a timbre the harmonic tone has neither of."""
    from scipy import signal as sps

    t = np.arange(int(SR * seconds)) / SR
    gate = (np.sin(2 * np.pi * rate_hz * t) > 0.3).astype(np.float64)
    x = sps.sosfilt(sps.butter(4, 3000, "highpass", fs=SR, output="sos"), rng.standard_normal(t.size)) * gate
    return (0.2 * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)[None, :]


def _run(x, ref, **params):
    return run_node(Morph, {"audio": Audio(x, SR), "reference": Audio(ref, SR)}, **params)


def test_amount_zero_leaves_the_signal_alone(rng):
    x = _harmonic()
    out = _run(x, _bursts(rng), amount=0.0)[0]["audio"]
    np.testing.assert_allclose(out.samples, x, atol=1e-5)


def test_band_envelopes_move_towards_the_reference_by_amount(rng):
    x, ref = _harmonic(), _bursts(rng)
    # The reference's envelope where no partial of x lies cannot be reached (the gain is capped), so the
    # test measures in the bands x covers up to 6 kHz, away from the caps.
    target = _band_db(ref[0])
    distance = {}
    for amount in (0.0, 0.5, 1.0):
        y = _run(x, ref, amount=amount, max_boost_db=120.0)[0]["audio"].samples[0]
        distance[amount] = float(np.mean(np.abs(_band_db(y) - target)[10:50]))
    assert distance[1.0] < 0.5 * distance[0.0]
    assert distance[1.0] < distance[0.5] < distance[0.0]


def test_the_reference_rhythm_is_imposed(rng):
    x, ref = _harmonic(), _bursts(rng, rate_hz=4.0)
    y = _run(x, ref, amount=1.0)[0]["audio"].samples[0]
    env = np.abs(y).reshape(-1, 441).mean(axis=1)  # 10 ms frames
    spectrum = np.abs(np.fft.rfft(env - env.mean()))
    rate = np.fft.rfftfreq(env.size, d=0.01)[np.argmax(spectrum)]
    assert abs(rate - 4.0) < 0.6  # the steady tone now pulses at the bursts' rate


def test_the_signal_partials_stay(rng):
    """The fine structure is the signal's: its fundamental stays the strongest low peak, and no partial of
    the (noise) reference appears between the harmonics."""
    x, ref = _harmonic(f0=220.0), _bursts(rng)
    y = _run(x, ref, amount=1.0, max_boost_db=120.0)[0]["audio"].samples[0]
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / SR)
    band = (freqs > 150) & (freqs < 2000)
    peak = freqs[band][np.argmax(spec[band])]
    assert abs(peak % 220.0) < 3.0 or abs(peak % 220.0 - 220.0) < 3.0
    between = spec[(freqs > 2000 + 90) & (freqs < 2000 + 130)].max()  # between the 9th and 10th harmonics
    on = spec[(freqs > 2200 - 3) & (freqs < 2200 + 3)].max()
    assert on > 30 * between


def test_gain_is_capped(rng):
    x, ref = _harmonic(), _bursts(rng)
    rec = _run(x, ref, amount=1.0, max_boost_db=12.0)[1]
    assert rec["gain_db_range"][1] <= 12.0 + 1e-6


def test_silent_reference_is_a_warning_and_no_change(rng):
    x = _harmonic()
    out = _run(x, np.zeros_like(x), amount=1.0)[0]["audio"]
    np.testing.assert_array_equal(out.samples, x)


def test_sample_rates_must_agree(rng):
    with pytest.raises(ParameterError, match="resample"):
        run_node(Morph, {"audio": Audio(sine(), SR), "reference": Audio(sine(sr=22050), 22050)})
