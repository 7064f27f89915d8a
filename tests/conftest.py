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

from tests.helpers.audio import SR, write_audio  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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
