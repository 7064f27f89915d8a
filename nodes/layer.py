"""layer: the reference laid under the signal at a set share of equal loudness (the bench's mixes, as a node)."""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.spec import NodeSpec, Param

from ._reference import ReferenceNode, reference_ports


class Layer(ReferenceNode):
    spec = NodeSpec(
        type_name="layer",
        category="signal",
        summary="out = (1 - amount)·signal + amount·reference, the reference looped or cut to the signal's "
                "length and both at equal RMS first.",
        doc="Plain layering, the remixer's baseline, with the level rule of bench/quality.py's mixes: the "
            "reference (mixed to mono) is looped or cut to the signal's length and scaled to the signal's RMS "
            "before the two are weighted, so `amount` is a share of equal loudness, not of whatever levels the "
            "files had. Under a styled output (graphs/beyond_paper.yaml) a few per cent fill the quiet bins "
            "the style transfer leaves empty. Unlike mix, the output keeps the signal's length.",
        **reference_ports("the signal, e.g. the styled output",
                          "what is laid under it, e.g. the style"),
        params=(Param("amount", "float", settings.LAYER_AMOUNT, "0 = the signal alone, 1 = the reference alone "
                      "(at the signal's RMS)", min=0.0, max=1.0),),
    )

    def apply(self, ctx, x, ref, sample_rate):
        out, gain_db = layer(x, ref, self.params["amount"])
        ctx.record("reference_gain_db", round(gain_db, 2))
        return out


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def layer(x: np.ndarray, reference: np.ndarray, amount: float) -> tuple[np.ndarray, float]:
    """(x [channels, frames] with the mono ``reference`` under it, the gain applied to the reference in dB)."""
    ref = np.resize(reference, x.shape[1])  # looped, or cut, to the signal's length
    gain = rms(x) / max(rms(ref), 1e-30)
    return (1.0 - amount) * x + amount * gain * ref[None, :], 20.0 * np.log10(gain)
