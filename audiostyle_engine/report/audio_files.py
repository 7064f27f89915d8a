"""Audio for report pages: 16-bit PCM WAV, which every browser plays without plugins or network."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """[channels, frames] float → 16-bit WAV; samples beyond ±1 are clipped as a player would."""
    x = np.asarray(samples, dtype=np.float64)
    x = x[None, :] if x.ndim == 1 else x
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(np.ascontiguousarray(pcm.T).tobytes())


def level_dbfs(samples: np.ndarray) -> tuple[float, float]:
    """(peak, RMS) in dBFS; -inf for silence."""
    x = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
    to_db = lambda v: 20 * np.log10(v) if v > 0 else float("-inf")  # noqa: E731
    return to_db(peak), to_db(rms)
