"""Deterministic test sounds of the paper's kinds, made here from numpy, scipy and espeak-ng alone.

Every generator takes (seconds, seed) and returns mono float64 at 44.1 kHz, peak 0.8. They are
stand-ins, not recordings: what matters for the quality benchmark is that each has the trait the
paper's pairs are about — speech formants and syllable rhythm, a piano's decaying partials, a
trumpet's bright sustained harmonics, a violin's vibrato and body resonances, a drum loop's
120 bpm groove, and a sparse syncopated rhythm at another tempo.

    python bench/signals.py OUT_DIR   # writes every sound as a WAV for listening
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import signal as sps

SR = 44100
SPEECH_TEXT = ("The quick brown fox jumps over the lazy dog. A short sentence, spoken slowly, "
               "gives the style transfer formants and syllables to keep.")


def _finish(x: np.ndarray, seconds: float) -> np.ndarray:
    n = int(round(seconds * SR))
    x = np.pad(x, (0, max(0, n - x.size)))[:n]
    fade = min(n // 4, int(0.01 * SR))
    x[:fade] *= np.linspace(0, 1, fade)
    x[n - fade:] *= np.linspace(1, 0, fade)
    return 0.8 * x / max(np.max(np.abs(x)), 1e-12)


def _place(out: np.ndarray, start: int, sound: np.ndarray, gain: float = 1.0) -> None:
    end = min(out.size, start + sound.size)
    if start < end:
        out[start:end] += gain * sound[: end - start]


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def speech(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """espeak-ng reading a fixed sentence (its voice is deterministic), resampled to 44.1 kHz."""
    import librosa

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed; install it (apt install espeak-ng) to make the speech clip")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), SPEECH_TEXT], check=True,
                       capture_output=True)
        x, sr = librosa.load(str(wav), sr=None, mono=True)
    x = librosa.resample(x.astype(np.float64), orig_sr=sr, target_sr=SR)
    skip = int(seed * 0.5 * SR) % max(1, x.size // 2)  # another seed: another excerpt of the sentence
    return _finish(x[skip:], seconds)


def piano(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """A C-major tune at 100 bpm: struck-string notes (inharmonic partials, upper ones decaying faster)."""
    rng = np.random.default_rng(1000 + seed)
    out = np.zeros(int(seconds * SR) + SR)
    tune = [60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 72, 74, 72, 69, 65]
    beats = [1, 0.5, 0.5, 1, 0.5, 0.5, 1, 1] * 2
    t, beat = 0.0, 60 / 100
    i = seed * 3
    while t < seconds:
        m, b = tune[i % len(tune)], beats[i % len(beats)]
        for pitch, gain in ((m, 1.0), (m - 19, 0.5 if i % 4 == 0 else 0.0)):
            if gain:
                _place(out, int(t * SR), _piano_note(_midi_hz(pitch), rng), gain)
        t += b * beat
        i += 1
    return _finish(out, seconds)


def _piano_note(freq: float, rng, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    note = np.zeros_like(t)
    for k in range(1, 10):
        partial = freq * k * np.sqrt(1 + 0.0004 * k * k)
        if partial > SR / 2:
            break
        note += 0.6 ** (k - 1) * np.exp(-t * (1.5 + 0.9 * k)) * np.sin(2 * np.pi * partial * t + rng.uniform(0, 2 * np.pi))
    return note * np.minimum(1.0, t / 0.004)


def _tone(freqs: np.ndarray, amps_of_k, n_partials: int, rng) -> np.ndarray:
    """Additive tone following an instantaneous-frequency track; amps_of_k(k, f) shapes the spectrum."""
    phase = 2 * np.pi * np.cumsum(freqs) / SR
    out = np.zeros_like(freqs)
    for k in range(1, n_partials + 1):
        fk = k * freqs
        alive = fk < SR / 2 - 500
        if not alive.any():
            break
        out += alive * amps_of_k(k, fk) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def trumpet(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """A legato brass phrase: many strong harmonics peaking near 1.2 kHz, a slow lip attack, light vibrato."""
    rng = np.random.default_rng(2000 + seed)
    phrase = [(70, 0.6), (72, 0.3), (74, 0.3), (77, 0.9), (75, 0.3), (74, 0.3), (72, 0.6), (70, 0.9)]
    out = np.zeros(int(seconds * SR) + SR)
    t, i = 0.0, seed
    while t < seconds:
        m, dur = phrase[i % len(phrase)]
        n = int(dur * SR)
        tt = np.arange(n) / SR
        f0 = _midi_hz(m) * (1 + 0.004 * np.sin(2 * np.pi * 5.0 * tt) * np.minimum(1, tt / 0.3))
        # Brass: the spectrum brightens as the note swells; a broad formant near 1.2 kHz.
        swell = np.minimum(1.0, tt / 0.05) * np.exp(-np.maximum(0, tt - dur + 0.06) * 40)
        note = _tone(f0, lambda k, f: np.exp(-((np.log2(f / 1200.0)) ** 2) / 1.2) / k ** 0.3, 30, rng)
        _place(out, int(t * SR), note * swell)
        t += dur
        i += 1
    breath = sps.lfilter(*sps.butter(2, [1500, 6000], btype="band", fs=SR), rng.standard_normal(out.size))
    return _finish(out + 0.01 * breath, seconds)


def violin(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Bowed notes: a sawtooth-like source with 5.5 Hz vibrato through fixed body resonances."""
    rng = np.random.default_rng(3000 + seed)
    phrase = [(76, 0.8), (79, 0.4), (81, 0.4), (83, 1.2), (81, 0.4), (79, 0.4), (76, 0.8)]
    out = np.zeros(int(seconds * SR) + SR)
    t, i = 0.0, seed
    while t < seconds:
        m, dur = phrase[i % len(phrase)]
        n = int(dur * SR)
        tt = np.arange(n) / SR
        f0 = _midi_hz(m) * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * tt) * np.minimum(1, tt / 0.2))
        bow = np.minimum(1.0, tt / 0.08) * np.minimum(1.0, (dur - tt) / 0.05).clip(0)
        _place(out, int(t * SR), _tone(f0, lambda k, f: 1.0 / k, 40, rng) * bow)
        t += dur
        i += 1
    body = np.zeros_like(out)
    for centre, q, gain in ((280, 8, 1.0), (460, 6, 0.8), (2900, 3, 1.2), (5200, 4, 0.4)):
        b, a = sps.iirpeak(centre, q, fs=SR)
        body += gain * sps.lfilter(b, a, out)
    return _finish(body + 0.3 * out, seconds)


def drums(seconds: float = 4.0, seed: int = 0, bpm: float = 120.0) -> np.ndarray:
    """A rock loop: kick, snare on 2 and 4, eighth-note hi-hats."""
    rng = np.random.default_rng(4000 + seed)
    out = np.zeros(int(seconds * SR) + SR)
    step = 60 / bpm / 4
    kt = np.arange(int(0.35 * SR)) / SR
    kick = np.sin(2 * np.pi * (45 * kt + 120 * (1 - np.exp(-kt * 30)) / 30)) * np.exp(-kt * 9)
    st = np.arange(int(0.25 * SR)) / SR
    hat_t = np.arange(int(0.06 * SR)) / SR
    for i in range(int(seconds / step) + 1):
        start = int(i * step * SR)
        if i % 16 in (0, 6, 8, 11):
            _place(out, start, kick)
        if i % 16 in (4, 12):
            snare = 0.7 * rng.standard_normal(st.size) * np.exp(-st * 18) + 0.5 * np.sin(2 * np.pi * 190 * st) * np.exp(-st * 25)
            _place(out, start, snare)
        if i % 2 == 0:
            hat = 0.25 * np.diff(rng.standard_normal(hat_t.size + 1)) * np.exp(-hat_t * 70)
            _place(out, start, hat, 1.0 if i % 4 == 0 else 0.6)
    return _finish(out, seconds)


def rhythm(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """A sparse syncopated woodblock-and-clap figure at 96 bpm (a tempo unlike the drum loop's)."""
    rng = np.random.default_rng(5000 + seed)
    out = np.zeros(int(seconds * SR) + SR)
    step = 60 / 96 / 4
    bt = np.arange(int(0.12 * SR)) / SR
    block_hi = np.sin(2 * np.pi * 1250 * bt) * np.exp(-bt * 45) + 0.4 * np.sin(2 * np.pi * 2750 * bt) * np.exp(-bt * 60)
    block_lo = np.sin(2 * np.pi * 820 * bt) * np.exp(-bt * 40)
    clap_t = np.arange(int(0.15 * SR)) / SR
    band = sps.butter(2, [900, 2500], btype="band", fs=SR)
    for i in range(int(seconds / step) + 1):
        start = int(i * step * SR)
        if i % 16 in (0, 3, 6, 10, 12):
            _place(out, start, block_hi if i % 16 in (0, 10) else block_lo)
        if i % 16 in (4, 14):
            env = sum(np.exp(-np.maximum(0, clap_t - d) * 60) * (clap_t >= d) for d in (0, 0.01, 0.02))
            _place(out, start, 0.6 * sps.lfilter(*band, rng.standard_normal(clap_t.size)) * env)
    return _finish(out, seconds)


GENERATORS = {"speech": speech, "piano": piano, "trumpet": trumpet, "violin": violin, "drums": drums, "rhythm": rhythm}

# The paper's kinds of pair: (content, style).
PAIRS = (("speech", "drums"), ("piano", "trumpet"), ("piano", "drums"), ("rhythm", "drums"), ("rhythm", "violin"))


def make(name: str, seconds: float, seed: int = 0) -> np.ndarray:
    return GENERATORS[name](seconds, seed)


def write_wav(path: Path, x: np.ndarray, sr: int = SR) -> Path:
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(str(path), sr, np.asarray(x, dtype=np.float32))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "out/signals")
    for name in GENERATORS:
        print(write_wav(target / f"{name}.wav", make(name, 6.0)))
