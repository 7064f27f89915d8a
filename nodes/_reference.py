"""What the nodes that bring a reference to a signal (match, morph, layer) check and prepare alike."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import ParameterError


def signal_and_reference(ctx, node: str, audio, reference) -> tuple[np.ndarray, np.ndarray] | None:
    """(the signal as float64 [channels, frames], the reference mixed to mono), or None, with a warning,
    when either is silent: the node then passes its input through."""
    if audio.sample_rate != reference.sample_rate:
        raise ParameterError(f"{node} inputs have different sample rates ({audio.sample_rate} and "
                             f"{reference.sample_rate} Hz); add a resample node before one of them")
    x = audio.samples.astype(np.float64)
    ref = reference.samples.mean(axis=0).astype(np.float64)
    for label, signal in ((audio.label, x), (reference.label, ref)):
        if np.max(np.abs(signal)) <= 1e-9:
            ctx.warn(f"{label} is silent; {node} leaves the signal as it is")
            return None
    return x, ref
