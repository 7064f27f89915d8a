"""Integrated loudness (ITU-R BS.1770-4, via pyloudnorm), one measurement for the nodes that set or match
levels, the report's matched mix and the bench's listening kit."""
from __future__ import annotations

import numpy as np


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 integrated loudness in LUFS of [channels, frames] audio (-inf for silence)."""
    import pyloudnorm

    if samples.shape[1] < int(0.4 * sample_rate):  # shorter than one gating block
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(samples.T.astype(np.float64)))
