"""Reference matching (the job Matchering does for mastering), as plain numpy/librosa functions.

Each step moves one long-term property of `x` towards the reference's, by `strength` (0 = leave
it, 1 = match it), and works on the mono sum so every channel gets the same gain and the stereo
image is kept:

- spectrum: the ratio of the two long-term (time-averaged) power spectra, smoothed over
  fractional octaves so that notes and partials are not copied, applied as a zero-phase gain per
  STFT bin;
- dynamics: the spread (standard deviation, dB) of the short-term level over active frames is
  scaled to the reference's — an upward/downward expander around the mean level;
- envelope: the reference's short-term level contour (its rhythm of loud and quiet) imposed on x,
  the reference looped over x's length;
- loudness: the BS.1770 integrated loudness set to the reference's, with a peak ceiling.

percussive_share says how much of the reference's energy is percussive (harmonic-percussive separation),
which the match node can scale its strength by.
"""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings


def _stft(x: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.stft(x, n_fft=settings.MATCH_N_FFT, hop_length=settings.MATCH_N_FFT // 4)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    import librosa

    return librosa.istft(spec, hop_length=settings.MATCH_N_FFT // 4, length=length)


def long_term_spectrum(x: np.ndarray) -> np.ndarray:
    """Mean power per STFT bin of the mono signal x [frames]."""
    return np.mean(np.abs(_stft(x.astype(np.float64))) ** 2, axis=1)


def smooth_octaves(power: np.ndarray, sample_rate: int, fraction: float) -> np.ndarray:
    """Each bin replaced by the mean power within ±fraction/2 octave of it (a constant-Q smoothing)."""
    freqs = np.linspace(0, sample_rate / 2, power.size)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    half = 2 ** (fraction / 2)
    lo = np.searchsorted(freqs, np.maximum(freqs / half, freqs[1] / 2), side="left")
    hi = np.searchsorted(freqs, freqs * half, side="right")
    hi = np.maximum(hi, lo + 1)
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def spectrum_gain_db(x: np.ndarray, reference: np.ndarray, sample_rate: int, strength: float) -> np.ndarray:
    """Gain per STFT bin (dB) that moves x's smoothed long-term spectrum `strength` of the way to the reference's.

    Both spectra are taken at equal total power first, so the curve changes the balance, not the level.
    """
    fraction = settings.MATCH_SMOOTHING_OCTAVES
    px = smooth_octaves(long_term_spectrum(x), sample_rate, fraction)
    pr = smooth_octaves(long_term_spectrum(reference), sample_rate, fraction)
    px, pr = px / max(px.sum(), 1e-30), pr / max(pr.sum(), 1e-30)
    floor = 1e-12
    gain = 10 * np.log10(np.maximum(pr, floor) / np.maximum(px, floor))
    limit = settings.MATCH_MAX_GAIN_DB
    return strength * np.clip(gain, -limit, limit)


def apply_gain_db(samples: np.ndarray, gain_db: np.ndarray) -> np.ndarray:
    """Zero-phase gain per bin on every channel of [channels, frames]."""
    g = 10 ** (gain_db / 20)
    return np.stack([_istft(_stft(ch.astype(np.float64)) * g[:, None], ch.size) for ch in samples])


def level_db(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Short-term RMS level (dB) of the mono signal in MATCH_LEVEL_SECONDS windows, and the hop used."""
    hop = max(1, int(settings.MATCH_LEVEL_SECONDS * sample_rate / 2))
    n = max(1, (x.size - 2 * hop) // hop + 1)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, max(0, 2 * hop - x.size))), 2 * hop)[::hop][:n]
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12), hop


def _frame_gain_to_samples(gain_db: np.ndarray, hop: int, length: int) -> np.ndarray:
    centres = np.arange(gain_db.size) * hop + hop  # each window spans [i·hop, i·hop + 2·hop)
    return 10 ** (np.interp(np.arange(length), centres, gain_db) / 20)


def _active(levels: np.ndarray) -> np.ndarray:
    return levels > levels.max() - settings.MATCH_ACTIVE_RANGE_DB


def dynamics_gain(x: np.ndarray, reference: np.ndarray, sample_rate: int, strength: float) -> np.ndarray:
    """Per-sample gain scaling the spread of x's active short-term levels towards the reference's."""
    lx, hop = level_db(x, sample_rate)
    lr, _ = level_db(reference, sample_rate)
    ax, ar = _active(lx), _active(lr)
    sx, sr_ = np.std(lx[ax]), np.std(lr[ar])
    if sx < 1e-6:
        return np.ones(x.size)
    mean = np.mean(lx[ax])
    ratio = (sr_ / sx) ** strength
    target = mean + (lx - mean) * ratio
    gain = np.where(ax, target - lx, 0.0)  # near-silence is left alone, so noise is not raised
    limit = settings.MATCH_MAX_GAIN_DB
    return _frame_gain_to_samples(np.clip(gain, -limit, limit), hop, x.size)


def envelope_gain(x: np.ndarray, reference: np.ndarray, sample_rate: int, strength: float) -> np.ndarray:
    """Per-sample gain giving x the reference's level contour (relative to each one's mean), looped over x."""
    lx, hop = level_db(x, sample_rate)
    lr, _ = level_db(reference, sample_rate)
    lr = np.resize(lr, lx.size)  # loop the reference's contour over x's length
    ax = _active(lx)
    relative_r = lr - np.mean(lr)
    relative_x = lx - np.mean(lx[ax]) if ax.any() else lx * 0
    # Where x is near-silent only cuts are applied: raising it would only raise its noise floor.
    gain = strength * np.where(ax, relative_r - relative_x, np.minimum(relative_r, 0.0))
    limit = settings.MATCH_MAX_GAIN_DB
    return _frame_gain_to_samples(np.clip(gain, -limit, limit), hop, x.size)


def percussive_share(reference: np.ndarray) -> float:
    """The share (0–1) of the mono reference's STFT energy that median-filtering harmonic-percussive
    separation (librosa's HPSS, Fitzgerald 2010) puts in its percussive part: near 0 for a held
    instrument, 0.4–0.9 for a drum loop."""
    import librosa

    harmonic, percussive = librosa.decompose.hpss(np.abs(_stft(reference.astype(np.float64))))
    energy = float(np.sum(harmonic ** 2) + np.sum(percussive ** 2))
    return float(np.sum(percussive ** 2)) / energy if energy > 0 else 0.0
