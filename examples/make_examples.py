"""Makes the bundled example clips from numpy alone (deterministic, no network):

    python examples/make_examples.py

content.flac: a piano-like melody (decaying harmonics); style.flac: a 120 bpm drum loop
(kick, snare, hi-hat). Both mono, 44.1 kHz, 8 s.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SR = 44100
SECONDS = 8.0
HERE = Path(__file__).resolve().parent


def piano_note(freq: float, seconds: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    note = np.zeros_like(t)
    for k in range(1, 9):
        # Slight inharmonicity and faster decay of upper partials, as in a struck string.
        partial = freq * k * np.sqrt(1 + 0.0004 * k * k)
        if partial > SR / 2:
            break
        note += (0.6 ** (k - 1)) * np.exp(-t * (1.5 + 0.9 * k)) * np.sin(2 * np.pi * partial * t + rng.uniform(0, 2 * np.pi))
    attack = np.minimum(1.0, t / 0.004)
    return note * attack


def melody(rng) -> np.ndarray:
    out = np.zeros(int(SECONDS * SR))
    # A C-major tune in eighths and quarters at 100 bpm.
    midi = [60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 72, 74, 72, 69, 65, 64, 67, 71, 74, 72, 67, 64, 60]
    beats = [1, 0.5, 0.5, 1, 0.5, 0.5, 1, 1] * 3
    t = 0.0
    beat = 60 / 100
    for m, b in zip(midi, beats):
        start = int(t * SR)
        if start >= out.size:
            break
        note = piano_note(440 * 2 ** ((m - 69) / 12), 2.0, rng)
        end = min(out.size, start + note.size)
        out[start:end] += note[: end - start]
        # A bass note an octave and a fifth below on every beat start gives the content harmony.
        if abs(t / beat - round(t / beat)) < 1e-6 and round(t / beat) % 2 == 0:
            bass = 0.5 * piano_note(440 * 2 ** ((m - 12 - 69) / 12), 2.0, rng)
            out[start:min(out.size, start + bass.size)] += bass[: min(out.size, start + bass.size) - start]
        t += b * beat
    return out


def drums(rng) -> np.ndarray:
    out = np.zeros(int(SECONDS * SR))
    step = 60 / 120 / 4  # sixteenth notes at 120 bpm
    kick_t = np.arange(int(0.35 * SR)) / SR
    kick = np.sin(2 * np.pi * (45 * kick_t + 120 * (1 - np.exp(-kick_t * 30)) / 30)) * np.exp(-kick_t * 9)
    snare_t = np.arange(int(0.25 * SR)) / SR
    snare_noise = rng.standard_normal(snare_t.size)
    snare = (0.7 * snare_noise * np.exp(-snare_t * 18) + 0.5 * np.sin(2 * np.pi * 190 * snare_t) * np.exp(-snare_t * 25))
    hat_t = np.arange(int(0.06 * SR)) / SR
    hat_noise = np.diff(rng.standard_normal(hat_t.size + 1))  # differentiated noise leans to the highs
    hat = 0.25 * hat_noise * np.exp(-hat_t * 70)
    pattern_kick = {0, 6, 8, 11}
    pattern_snare = {4, 12}
    for i in range(int(SECONDS / step)):
        start = int(i * step * SR)
        for hit, pattern in ((kick, pattern_kick), (snare, pattern_snare)):
            if i % 16 in pattern:
                end = min(out.size, start + hit.size)
                out[start:end] += hit[: end - start]
        if i % 2 == 0:
            end = min(out.size, start + hat.size)
            out[start:end] += hat[: end - start] * (1.0 if i % 4 == 0 else 0.6)
    return out


def write(path: Path, signal: np.ndarray) -> None:
    from pedalboard.io import AudioFile

    signal = 0.8 * signal / np.max(np.abs(signal))
    with AudioFile(str(path), "w", samplerate=SR, num_channels=1, bit_depth=16) as f:
        f.write(signal.astype(np.float32)[None, :])


def main(out_dir: Path = HERE) -> None:
    rng = np.random.default_rng(20261125)
    write(out_dir / "content.flac", melody(rng))
    write(out_dir / "style.flac", drums(rng))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
