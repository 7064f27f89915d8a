"""layer: the reference under the signal by a share of equal RMS, looped or cut to the signal's length."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import Audio
from nodes import Layer
from tests.helpers.audio import SR, sine
from tests.helpers.nodes import run_node


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _run(x, ref, **params):
    return run_node(Layer, {"audio": Audio(x, SR), "reference": Audio(ref, SR)}, **params)


def test_amount_is_a_share_of_equal_rms(rng):
    x = (0.5 * rng.standard_normal((1, SR))).astype(np.float32)
    ref = (0.01 * rng.standard_normal((1, SR))).astype(np.float32)  # 34 dB quieter: its level must not count
    for amount in (0.06, 0.5):
        outputs, records, _ = _run(x, ref, amount=amount)
        y = outputs["audio"].samples
        signal_part = (1 - amount) * x
        layer_part = y - signal_part
        np.testing.assert_allclose(_rms(layer_part), amount * _rms(x), rtol=1e-4)
        np.testing.assert_allclose(layer_part / layer_part.std(), ref / ref.std(), atol=1e-3)  # the reference itself
        assert records["reference_gain_db"] == pytest.approx(20 * np.log10(_rms(x) / _rms(ref)), abs=0.01)


def test_amount_zero_and_one(rng):
    x = sine(hz=440.0, seconds=0.5)
    ref = sine(hz=1000.0, seconds=0.5, amp=0.05)
    np.testing.assert_allclose(_run(x, ref, amount=0.0)[0]["audio"].samples, x, atol=1e-7)
    only = _run(x, ref, amount=1.0)[0]["audio"].samples
    np.testing.assert_allclose(only, ref * _rms(x) / _rms(ref), rtol=1e-4, atol=1e-6)


def test_a_short_reference_is_looped_and_a_long_one_cut(rng):
    x = sine(hz=440.0, seconds=1.0)
    short = (rng.standard_normal((1, SR // 4))).astype(np.float32)
    y = _run(x, short, amount=1.0)[0]["audio"].samples
    assert y.shape == x.shape
    np.testing.assert_allclose(y[:, :SR // 4], y[:, SR // 4:SR // 2], rtol=1e-5)  # the loop repeats
    long = (rng.standard_normal((1, 3 * SR))).astype(np.float32)
    assert _run(x, long, amount=0.5)[0]["audio"].samples.shape == x.shape  # the signal's length, unlike mix


def test_stereo_signal_gets_the_mono_reference_in_each_channel(rng):
    x = np.stack([sine(hz=440.0)[0], sine(hz=660.0)[0] * 0.5])
    ref = rng.standard_normal((2, x.shape[1])).astype(np.float32)
    y = _run(x, ref, amount=0.5)[0]["audio"].samples
    layer_part = y - 0.5 * x
    assert y.shape == x.shape
    np.testing.assert_allclose(layer_part[0], layer_part[1], atol=1e-6)
    np.testing.assert_allclose(layer_part[0] / layer_part[0].std(), ref.mean(axis=0) / ref.mean(axis=0).std(),
                               atol=1e-3)


def test_silent_reference_is_a_warning_and_no_change():
    x = sine()
    out = _run(x, np.zeros_like(x), amount=0.5)[0]["audio"]
    np.testing.assert_array_equal(out.samples, x)


def test_sample_rates_must_agree():
    with pytest.raises(ParameterError, match="resample"):
        run_node(Layer, {"audio": Audio(sine(), SR), "reference": Audio(sine(sr=22050), 22050)})
