"""resample, mono, trim, normalize, mix: each checked on generated audio."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.errors import InputFileError, ParameterError
from audiostyle_engine.payloads import Audio
from nodes import Mix, Mono, Normalize, Resample, Trim
from audiostyle_engine.loudness import integrated_loudness
from tests.helpers.audio import SR, noise, sine
from tests.helpers.nodes import run_node


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * sr / x.size)


@pytest.mark.parametrize("src_sr,dst_sr", [(48000, 44100), (22050, 44100), (44100, 16000)])
def test_resample_keeps_frequency_and_duration(src_sr, dst_sr):
    audio = Audio(sine(src_sr, hz=1000.0, seconds=1.0, channels=2), src_sr)
    out = run_node(Resample, {"audio": audio}, sample_rate=dst_sr)[0]["audio"]
    assert out.sample_rate == dst_sr and out.channels == 2
    assert abs(out.frames - dst_sr) <= 1
    assert abs(dominant_hz(out.samples[0], dst_sr) - 1000.0) < 2.0
    # Nothing was added: the resampled tone holds its level (soxr VHQ passband is flat).
    assert abs(np.sqrt(np.mean(out.samples[0, 1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.01


def test_resample_removes_content_above_new_nyquist():
    audio = Audio(sine(48000, hz=15000.0, seconds=0.5), 48000)
    out = run_node(Resample, {"audio": audio}, sample_rate=16000)[0]["audio"]
    assert np.max(np.abs(out.samples)) < 1e-3  # 15 kHz cannot exist at 16 kHz and must not alias


def test_mono_mean_and_channel_pick():
    left, right = sine(hz=200, seconds=0.2)[0], sine(hz=300, seconds=0.2)[0]
    audio = Audio(np.vstack([left, right]), SR)
    assert np.allclose(run_node(Mono, {"audio": audio})[0]["audio"].samples[0], (left + right) / 2)
    assert np.array_equal(run_node(Mono, {"audio": audio}, mode="channel", channel=1)[0]["audio"].samples[0], right)
    with pytest.raises(ParameterError, match="channel=2 but the audio has 2 channel"):
        run_node(Mono, {"audio": audio}, mode="channel", channel=2)


def test_trim_offset_duration_pad_and_fade():
    ramp = np.arange(SR * 2, dtype=np.float32)[None, :] / (SR * 2)
    audio = Audio(ramp, SR)
    out = run_node(Trim, {"audio": audio}, offset=0.5, duration=1.0)[0]["audio"]
    assert out.frames == SR and out.samples[0, 0] == ramp[0, SR // 2]
    padded = run_node(Trim, {"audio": audio}, offset=1.5, duration=1.0, pad=True)[0]["audio"]
    assert padded.frames == SR and np.all(padded.samples[0, SR // 2:] == 0)
    faded = run_node(Trim, {"audio": Audio(np.ones((1, SR), np.float32), SR)}, fade=0.01)[0]["audio"]
    assert faded.samples[0, 0] == 0 and faded.samples[0, -1] == 0 and faded.samples[0, SR // 2] == 1
    with pytest.raises(InputFileError, match="shorter than trim offset 3"):
        run_node(Trim, {"audio": audio}, offset=3.0)


def test_normalize_peak_and_loudness(rng):
    audio = Audio(0.1 * sine(seconds=3.0, channels=2), SR)
    peak = run_node(Normalize, {"audio": audio}, mode="peak", peak_db=-3.0)[0]["audio"]
    assert abs(20 * np.log10(np.max(np.abs(peak.samples))) + 3.0) < 0.01
    loud = run_node(Normalize, {"audio": Audio(noise(rng, seconds=3.0, amp=0.05), SR)}, mode="loudness", lufs=-23.0)[0]["audio"]
    assert abs(integrated_loudness(loud.samples, SR) + 23.0) < 0.1
    # A loudness target that would clip is held at the peak ceiling, with a warning.
    out, _, _ = run_node(Normalize, {"audio": Audio(sine(seconds=3.0), SR)}, mode="loudness", lufs=-1.0, max_peak_db=-1.0)
    assert abs(20 * np.log10(np.max(np.abs(out["audio"].samples))) + 1.0) < 0.01


@pytest.mark.parametrize("mode", ["peak", "loudness"])
def test_normalize_refuses_non_finite_samples(rng, mode):
    samples = noise(rng, seconds=1.0, channels=2)
    samples[0, 100:110] = np.nan
    with pytest.raises(ParameterError, match=r"cannot normalize the audio: 10 of 88200 samples are NaN or infinite"):
        run_node(Normalize, {"audio": Audio(samples, SR)}, mode=mode)


def test_mix_balance_and_padding():
    a = Audio(np.ones((1, 100), np.float32), SR)
    b = Audio(np.full((1, 50), 3.0, np.float32), SR)
    out = run_node(Mix, {"a": a, "b": b}, balance=0.25)[0]["audio"]
    assert out.frames == 100
    assert np.allclose(out.samples[0, :50], 0.75 + 0.75) and np.allclose(out.samples[0, 50:], 0.75)
    with pytest.raises(ParameterError, match="different sample rates"):
        run_node(Mix, {"a": a, "b": Audio(b.samples, 48000)})
