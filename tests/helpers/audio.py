"""Test signals (seeded, faded edges) and plain audio-file read/write, shared by every test folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 44100


def fade(x: np.ndarray, sr: int, seconds: float = 0.01) -> np.ndarray:
    n = min(int(sr * seconds), x.shape[-1] // 2)
    if n:
        ramp = np.linspace(0, 1, n, dtype=np.float32)
        x[..., :n] *= ramp
        x[..., -n:] *= ramp[::-1]
    return x


def sine(sr: int = SR, hz: float = 440.0, seconds: float = 1.0, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return fade(np.repeat(x[None, :], channels, axis=0), sr)


def noise(rng, sr: int = SR, seconds: float = 1.0, channels: int = 1, amp: float = 0.3) -> np.ndarray:
    return fade((amp * rng.standard_normal((channels, int(sr * seconds)))).astype(np.float32), sr)


def chirp(sr: int = SR, f0: float = 100.0, f1: float = 8000.0, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    k = np.log(f1 / f0) / seconds
    x = amp * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    return fade(x.astype(np.float32)[None, :], sr)


def write_audio(path: Path, samples: np.ndarray, sr: int = SR, bit_depth: int = 16) -> Path:
    from pedalboard.io import AudioFile

    path = Path(path)
    with AudioFile(str(path), "w", samplerate=sr, num_channels=samples.shape[0], bit_depth=bit_depth) as f:
        f.write(samples.astype(np.float32))
    return path


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    from pedalboard.io import AudioFile

    with AudioFile(str(path)) as f:
        return f.read(f.frames), int(f.samplerate)
