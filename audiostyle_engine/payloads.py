"""Typed values that travel along graph edges. Layout is explicit, never inferred from shape."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from .errors import ParameterError


class PortKind(str, Enum):
    AUDIO = "audio"
    SPECTROGRAM = "spectrogram"
    METRICS = "metrics"


@dataclass(frozen=True, eq=False)
class Audio:
    """float32 samples laid out as [channels, frames]."""

    samples: np.ndarray
    sample_rate: int
    source: str | None = None  # the file this audio came from, for error messages

    def __post_init__(self):
        s = self.samples
        if not isinstance(s, np.ndarray) or s.ndim != 2:
            raise ParameterError(f"audio samples must be a 2-D [channels, frames] array, got shape {getattr(s, 'shape', None)}")
        if s.dtype != np.float32:
            object.__setattr__(self, "samples", s.astype(np.float32))
        if int(self.sample_rate) <= 0:
            raise ParameterError(f"sample_rate={self.sample_rate} must be a positive integer")

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def label(self) -> str:
        return f"'{self.source}'" if self.source else "the audio"

    def with_samples(self, samples: np.ndarray, sample_rate: int | None = None) -> "Audio":
        return replace(self, samples=np.ascontiguousarray(samples, dtype=np.float32),
                       sample_rate=self.sample_rate if sample_rate is None else int(sample_rate))


@dataclass(frozen=True, eq=False)
class Spectrogram:
    """STFT magnitudes laid out as [channels, bins, frames], with everything needed to invert them.

    ``scale`` says how ``magnitude`` is stored: ``"log1p"`` holds log(1 + |S|) as in the paper,
    ``"linear"`` holds |S|. ``phase`` (radians, same layout) is present when it is known.
    """

    magnitude: np.ndarray
    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    length: int  # samples of the signal the STFT was taken from
    scale: str = "log1p"
    phase: np.ndarray | None = None
    source: str | None = None
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.magnitude.ndim != 3:
            raise ParameterError(f"spectrogram must be [channels, bins, frames], got shape {self.magnitude.shape}")
        if self.magnitude.shape[1] != self.n_fft // 2 + 1:
            raise ParameterError(f"spectrogram has {self.magnitude.shape[1]} bins, n_fft={self.n_fft} needs {self.n_fft // 2 + 1}")
        if self.phase is not None and self.phase.shape != self.magnitude.shape:
            raise ParameterError("spectrogram phase and magnitude shapes differ")
        if self.scale not in ("log1p", "linear"):
            raise ParameterError(f"spectrogram scale={self.scale!r} must be 'log1p' or 'linear'")

    @property
    def channels(self) -> int:
        return self.magnitude.shape[0]

    @property
    def frames(self) -> int:
        return self.magnitude.shape[2]

    @property
    def label(self) -> str:
        return f"'{self.source}'" if self.source else "the spectrogram"

    def linear_magnitude(self) -> np.ndarray:
        if self.scale == "log1p":
            # exp(x) - 1 is negative where an optimiser pushed x below 0; a magnitude cannot be.
            return np.maximum(np.expm1(self.magnitude), 0.0)
        return self.magnitude


def require_finite(samples: np.ndarray, what: str) -> None:
    """Refuse NaN and infinite samples with a clear error. Level checks cannot be trusted with them
    (NaN > 1.0 is false, so a peak or clip test lets NaN through to the file). The float64 sum is one
    cheap pass; the element-wise count runs only when the sum is not finite."""
    if samples.size and not np.isfinite(samples.sum(dtype=np.float64)):
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise ParameterError(f"{what}: {bad} of {samples.size} samples are NaN or infinite; the node that made this "
                             "audio failed numerically (e.g. an optimiser that diverged) — check its params")
