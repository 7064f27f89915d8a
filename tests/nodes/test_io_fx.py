"""load, write and fx against real files and real pedalboard effects."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.errors import InputFileError
from audiostyle_engine.payloads import Audio
from nodes import Fx, Load, Write
from tests.helpers.audio import SR, noise, read_audio, sine
from tests.helpers.nodes import run_node


@pytest.mark.parametrize("ext,tolerance", [(".wav", 1e-4), (".flac", 1e-4), (".aiff", 1e-4), (".ogg", 0.05), (".mp3", 0.1)])
def test_write_then_load_round_trip(tmp_path, ext, tolerance):
    x = sine(hz=440, seconds=1.0, channels=2, amp=0.5)
    path = tmp_path / f"out{ext}"
    _, _, written = run_node(Write, {"audio": Audio(x, SR)}, path=str(path), bit_depth=16 if ext == ".flac" else 24)
    assert written == [path] and path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    audio = run_node(Load, path=str(path))[0]["audio"]
    assert audio.channels == 2 and audio.sample_rate == SR
    n = min(audio.frames, x.shape[1])
    # Lossy codecs add delay and shape the spectrum; compare level and pitch rather than samples.
    if ext in (".ogg", ".mp3"):
        assert abs(np.sqrt(np.mean(audio.samples[0] ** 2)) - np.sqrt(np.mean(x[0] ** 2))) < tolerance
    else:
        assert np.max(np.abs(audio.samples[:, :n] - x[:, :n])) < tolerance


def test_load_offset_and_duration(wav_file):
    ramp = (np.arange(SR * 2) / (SR * 2)).astype(np.float32)[None, :] * 0.9
    path = wav_file("ramp.wav", ramp, bit_depth=24)
    audio = run_node(Load, path=str(path), offset=0.5, duration=0.25)[0]["audio"]
    assert audio.frames == SR // 4
    assert abs(audio.samples[0, 0] - ramp[0, SR // 2]) < 1e-5


def test_load_errors_name_the_file(tmp_path, wav_file):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF....not audio at all" * 10)
    with pytest.raises(InputFileError, match=f"cannot decode '{garbage}'"):
        run_node(Load, path=str(garbage))
    full = wav_file("full.wav", sine(seconds=2.0))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(full.read_bytes()[:60000])
    with pytest.raises(InputFileError, match=f"'{truncated}' is truncated"):
        run_node(Load, path=str(truncated))
    flac = tmp_path / "x.flac"
    run_node(Write, {"audio": Audio(sine(seconds=3.0), SR)}, path=str(flac), bit_depth=16)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    with pytest.raises(InputFileError, match=f"'{cut}' is (corrupt or truncated|truncated)"):
        run_node(Load, path=str(cut))
    short = wav_file("short.wav", sine(seconds=0.2))
    with pytest.raises(InputFileError, match=f"'{short}' is 0.20 s long but at least 1 s"):
        run_node(Load, path=str(short), min_seconds=1.0)


def test_write_clipping_policy(tmp_path):
    loud = Audio(np.full((1, 1000), 1.5, np.float32), SR)
    from audiostyle_engine.errors import ParameterError

    with pytest.raises(ParameterError, match="above full scale"):
        run_node(Write, {"audio": loud}, path=str(tmp_path / "x.wav"), clip="error")
    run_node(Write, {"audio": loud}, path=str(tmp_path / "y.wav"), clip="warn", bit_depth=32)
    assert np.max(read_audio(tmp_path / "y.wav")[0]) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("clip", ["warn", "clip", "error"])
def test_write_refuses_non_finite_samples_and_leaves_no_file(tmp_path, bad, clip):
    from audiostyle_engine.errors import ParameterError

    samples = np.full((2, 1000), 0.25, np.float32)
    samples[1, 500] = bad
    out = tmp_path / "x.wav"
    with pytest.raises(ParameterError, match=rf"cannot write {out}: 1 of 2000 samples are NaN or infinite"):
        run_node(Write, {"audio": Audio(samples, SR)}, path=str(out), clip=clip)
    assert list(tmp_path.iterdir()) == []


def test_fx_gain_highpass_and_compressor(rng):
    x = noise(rng, seconds=1.0, amp=0.1)
    gained = run_node(Fx, {"audio": Audio(x, SR)}, chain=[{"effect": "Gain", "gain_db": 6.0}], tail=0)[0]["audio"]
    assert np.allclose(gained.samples, x * 10 ** (6 / 20), atol=1e-5)

    low = sine(hz=50, seconds=1.0) + sine(hz=5000, seconds=1.0)
    hp = run_node(Fx, {"audio": Audio(low, SR)}, chain=[{"effect": "HighpassFilter", "cutoff_frequency_hz": 1000}], tail=0)[0]["audio"]
    before, after = np.abs(np.fft.rfft(low[0])), np.abs(np.fft.rfft(hp.samples[0]))  # 1 s: bin k is k Hz
    assert after[50] < 0.1 * before[50]  # at least 20 dB down, a first-order slope 4 octaves below cutoff
    assert after[5000] > 0.9 * before[5000]

    # Alternating loud and quiet sections: a compressor narrows the level gap between them.
    tone = sine(hz=440, seconds=2.0, amp=1.0)
    envelope = np.where((np.arange(tone.shape[1]) // (SR // 2)) % 2 == 0, 0.7, 0.02).astype(np.float32)
    dynamic = tone * envelope
    comp = run_node(Fx, {"audio": Audio(dynamic, SR)},
                    chain=[{"effect": "Compressor", "threshold_db": -30, "ratio": 8, "attack_ms": 1, "release_ms": 50}], tail=0)[0]["audio"]

    def gap_db(x):
        loud = np.sqrt(np.mean(x[0, SR // 4:SR // 2] ** 2))
        quiet = np.sqrt(np.mean(x[0, SR // 2 + SR // 4:SR] ** 2))
        return 20 * np.log10(loud / quiet)

    assert gap_db(dynamic) == pytest.approx(20 * np.log10(0.7 / 0.02), abs=0.1)
    assert gap_db(comp.samples) < gap_db(dynamic) - 10  # 31 dB → about 10 dB with threshold -30, ratio 8


def test_fx_tail_and_bypass():
    click = np.zeros((1, SR // 2), np.float32)
    click[0, 100] = 1.0
    chain = [{"effect": "Reverb", "room_size": 0.9, "wet_level": 0.5}]
    out = run_node(Fx, {"audio": Audio(click, SR)}, chain=chain, tail=1.0)[0]["audio"]
    assert out.frames == click.shape[1] + SR
    assert np.max(np.abs(out.samples[0, click.shape[1]:])) > 1e-3  # the tail rings past the input's end
    bypassed = run_node(Fx, {"audio": Audio(click, SR)}, chain=[{**chain[0], "bypass": True}])[0]["audio"]
    assert np.array_equal(bypassed.samples, click)
