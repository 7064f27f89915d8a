"""Shared fixtures: every test makes its own audio (seeded numpy), nothing is read from the repo's audio."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SR = 44100


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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


@pytest.fixture
def wav_file(tmp_path):
    """wav_file(name, samples, sr) writes a 16-bit file into the test's temp folder."""
    def make(name: str, samples: np.ndarray, sr: int = SR, bit_depth: int = 16) -> Path:
        return write_audio(tmp_path / name, samples, sr, bit_depth)
    return make


@pytest.fixture(autouse=True)
def private_cache_dir(tmp_path_factory, monkeypatch):
    """Style-target caches of the code under test go to a temp folder, never the user's ~/.cache."""
    monkeypatch.setenv("AUDIOSTYLE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"test leaked threads: {leaked}"
