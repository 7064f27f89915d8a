"""match: each step moves its property of the signal the stated way, by the stated amount."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import Audio
from nodes import Match
from nodes import _match_dsp as dsp
from audiostyle_engine.loudness import integrated_loudness
from tests.helpers.audio import SR
from tests.helpers.nodes import run_node

ONLY_SPECTRUM = {"dynamics": 0.0, "loudness": 0.0, "envelope": 0.0, "max_peak_db": 6.0}


def _filtered_noise(rng, btype: str, hz: float, seconds: float = 2.0, amp: float = 0.1) -> np.ndarray:
    sos = sps.butter(4, hz, btype=btype, fs=SR, output="sos")
    x = sps.sosfilt(sos, rng.standard_normal(int(SR * seconds)))
    return (amp * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)[None, :]


def _tilt_db(x: np.ndarray) -> float:
    """Power above 4 kHz over power below 1 kHz, in dB."""
    f, p = sps.welch(x[0], fs=SR, nperseg=4096)
    return float(10 * np.log10(p[f > 4000].sum() / p[f < 1000].sum()))


def test_spectrum_moves_a_dark_signal_towards_a_bright_reference(rng):
    dark, bright = _filtered_noise(rng, "lowpass", 1500), _filtered_noise(rng, "highpass", 3000)
    before, target = _tilt_db(dark), _tilt_db(bright)
    full = run_node(Match, {"audio": Audio(dark, SR), "reference": Audio(bright, SR)}, **ONLY_SPECTRUM)[0]["audio"]
    half = run_node(Match, {"audio": Audio(dark, SR), "reference": Audio(bright, SR)}, strength=0.5,
                    **ONLY_SPECTRUM)[0]["audio"]
    after, mid = _tilt_db(full.samples), _tilt_db(half.samples)
    assert before < target - 30  # the two really differ
    assert after > before + 25  # brighter by far ...
    assert before < mid < after  # ... and strength 0.5 lands in between
    # the match is capped at MATCH_MAX_GAIN_DB per bin, so it can fall short, never overshoot
    assert after <= target + 3


def test_strength_zero_leaves_the_signal_alone(rng):
    x, ref = _filtered_noise(rng, "lowpass", 1500), _filtered_noise(rng, "highpass", 3000, amp=0.3)
    out = run_node(Match, {"audio": Audio(x, SR), "reference": Audio(ref, SR)}, strength=0.0)[0]["audio"]
    np.testing.assert_allclose(out.samples, x, atol=1e-6)


def test_spectrum_gain_is_zero_against_itself(rng):
    x = _filtered_noise(rng, "lowpass", 2000)[0].astype(np.float64)
    np.testing.assert_allclose(dsp.spectrum_gain_db(x, x, SR, 1.0), 0.0, atol=1e-9)


def test_loudness_is_matched_to_the_reference(rng):
    quiet = _filtered_noise(rng, "lowpass", 3000, amp=0.02)
    loud = _filtered_noise(rng, "lowpass", 3000, amp=0.2)
    out = run_node(Match, {"audio": Audio(quiet, SR), "reference": Audio(loud, SR)}, spectrum=0.0, dynamics=0.0,
                   max_peak_db=6.0)[0]["audio"]
    assert abs(integrated_loudness(out.samples, SR) - integrated_loudness(loud, SR)) < 0.5


def _bursts(rng, rate_hz: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    gate = (np.sin(2 * np.pi * rate_hz * t) > 0).astype(np.float64)
    return (0.1 * rng.standard_normal(t.size) * (0.05 + gate)).astype(np.float32)[None, :]


def test_envelope_imposes_the_reference_rhythm_on_a_steady_signal(rng):
    steady = (0.1 * rng.standard_normal((1, 2 * SR))).astype(np.float32)
    ref = _bursts(rng, 4.0)
    out = run_node(Match, {"audio": Audio(steady, SR), "reference": Audio(ref, SR)}, spectrum=0.0, dynamics=0.0,
                   loudness=0.0, envelope=1.0)[0]["audio"]
    lo, _ = dsp.level_db(out.samples[0].astype(np.float64), SR)
    lr, _ = dsp.level_db(ref[0].astype(np.float64), SR)
    ls, _ = dsp.level_db(steady[0].astype(np.float64), SR)
    assert np.std(ls) < 1.0 and np.std(lo) > 8.0  # steady in, pulsing out
    assert np.corrcoef(lo, lr[:lo.size])[0, 1] > 0.9  # pulsing with the reference's rhythm


def test_dynamics_widen_the_level_spread_towards_the_reference(rng):
    t = np.arange(2 * SR) / SR
    gentle = (0.1 * rng.standard_normal((1, t.size)) * (1 + 0.3 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    punchy = _bursts(rng, 3.0)
    out = run_node(Match, {"audio": Audio(gentle, SR), "reference": Audio(punchy, SR)}, spectrum=0.0, loudness=0.0,
                   max_peak_db=6.0)[0]["audio"]
    spread = lambda x: np.std(dsp.level_db(x[0].astype(np.float64), SR)[0])  # noqa: E731
    assert spread(gentle) < spread(out.samples) <= spread(punchy) * 1.1


def test_stereo_keeps_its_image(rng):
    left = _filtered_noise(rng, "lowpass", 2000)
    x = np.vstack([left, 0.5 * left])
    out = run_node(Match, {"audio": Audio(x, SR), "reference": Audio(_filtered_noise(rng, "highpass", 3000), SR)},
                   **ONLY_SPECTRUM)[0]["audio"]
    np.testing.assert_allclose(out.samples[1], 0.5 * out.samples[0], atol=1e-5)


@pytest.mark.parametrize("strength", [1.0, 0.0])  # at 0 too: the graph is wrong whatever the amount
def test_sample_rate_mismatch_is_a_clear_error(rng, strength):
    x = _filtered_noise(rng, "lowpass", 2000)
    with pytest.raises(ParameterError, match="different sample rates.*resample"):
        run_node(Match, {"audio": Audio(x, SR), "reference": Audio(x, 48000)}, strength=strength)


def test_silent_input_is_left_alone_with_a_warning(rng):
    from audiostyle_engine.executor import NodeContext, RunState

    class _G:
        order = ["node"]

    state = RunState(_G(), [])
    ctx = NodeContext("node", "match", "cpu", 0, None, state)
    params = {p.name: p.default for p in Match.spec.params}
    silent = Audio(np.zeros((1, SR), dtype=np.float32), SR)
    out = Match(params, "node").process(ctx, audio=silent, reference=Audio(_filtered_noise(rng, "lowpass", 2000), SR))
    assert out["audio"] is silent and any("silent" in w for w in state.warnings)


def _clicks(rng, seconds: float = 2.0, per_second: float = 4.0) -> np.ndarray:
    """Short bright noise bursts: a hat pattern, all percussion."""
    x = np.zeros(int(SR * seconds))
    for start in np.arange(0, x.size - 2000, int(SR / per_second)):
        x[start:start + 1500] = rng.standard_normal(1500) * np.exp(-np.arange(1500) / 200)
    return (0.1 * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)[None, :]


def _chord(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.05 * sum(np.sin(2 * np.pi * f * t) for f in (3000, 4500, 6000))).astype(np.float32)[None, :]


def test_percussive_share_tells_a_held_chord_from_a_hat_pattern(rng):
    held, hats = dsp.percussive_share(_chord()[0]), dsp.percussive_share(_clicks(rng)[0])
    assert held < 0.05 and hats > 0.6, (held, hats)


def test_by_percussive_scales_the_strength_by_the_references_share(rng):
    """A held bright chord as the reference barely moves a dark signal with by_percussive, a bright hat
    pattern moves it by its share: exactly what strength × share would do."""
    dark = _filtered_noise(rng, "lowpass", 1500)
    before, moved = _tilt_db(dark), {}
    for name, ref in (("held", _chord()), ("hats", _clicks(rng))):
        out, rec, _ = run_node(Match, {"audio": Audio(dark, SR), "reference": Audio(ref, SR)}, by_percussive=True,
                               **ONLY_SPECTRUM)
        share = dsp.percussive_share(ref[0])
        assert rec["percussive_share"] == pytest.approx(share, abs=1e-3)
        same = run_node(Match, {"audio": Audio(dark, SR), "reference": Audio(ref, SR)}, strength=share,
                        **ONLY_SPECTRUM)[0]["audio"]
        np.testing.assert_allclose(out["audio"].samples, same.samples, atol=1e-6)
        moved[name] = _tilt_db(out["audio"].samples) - before
    assert abs(moved["held"]) < 3 < 10 < moved["hats"], moved



def test_strength_zero_passes_the_input_through_even_above_the_peak_ceiling(rng):
    """0 = unchanged, to the bit: graphs/beyond_paper.yaml has a match at strength 0 by default, and its
    output must be what it was without one (the peak ceiling used to turn a loud input down)."""
    x = _filtered_noise(rng, "lowpass", 1500)
    x = (x * (0.99 / np.max(np.abs(x)))).astype(np.float32)  # above the default ceiling, −1 dBFS
    ref = _filtered_noise(rng, "highpass", 3000)
    out = run_node(Match, {"audio": Audio(x, SR), "reference": Audio(ref, SR)}, strength=0.0, by_percussive=True)[0]
    np.testing.assert_array_equal(out["audio"].samples, x)
