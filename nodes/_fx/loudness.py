"""Loudness measurements for reports: BS.1770 integrated loudness and true peak."""
from __future__ import annotations

import math

import numpy as np

TRUE_PEAK_OVERSAMPLING = 4  # ITU-R BS.1770-4 Annex 2: 4x oversampling at 44.1/48 kHz


def true_peak_dbtp(samples: np.ndarray, sample_rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP; catches the inter-sample peaks a DAC will produce."""
    from scipy.signal import resample_poly

    if samples.size == 0:
        return float("-inf")
    factor = TRUE_PEAK_OVERSAMPLING if sample_rate < 96000 else 2
    # In chunks with a margin wider than the interpolation filter, so a long file does not need
    # four times its size in memory; the margins are dropped, so the result is that of one pass.
    frames, chunk, margin = samples.shape[1], 1 << 18, 64
    peak = float(np.max(np.abs(samples)))
    for start in range(0, frames, chunk):
        lo, hi = max(0, start - margin), min(frames, start + chunk + margin)
        up = resample_poly(samples[:, lo:hi].astype(np.float64), factor, 1, axis=-1)
        keep = up[:, (start - lo) * factor:(min(frames, start + chunk) - lo) * factor]
        peak = max(peak, float(np.max(np.abs(keep))))
    return 20 * math.log10(peak) if peak > 0 else float("-inf")


def measure(samples: np.ndarray, sample_rate: int) -> dict:
    """{integrated_lufs, true_peak_dbtp}; None where a value does not exist (silence, under 0.4 s)."""
    from audiostyle_engine.loudness import integrated_loudness

    lufs = integrated_loudness(samples, sample_rate)
    peak = true_peak_dbtp(samples, sample_rate)
    return {"integrated_lufs": round(lufs, 2) if math.isfinite(lufs) else None,
            "true_peak_dbtp": round(peak, 2) if math.isfinite(peak) else None}
