"""What the nodes that bring a reference to a signal (match, morph, layer) check and prepare alike."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, Port


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


def reference_ports(audio_doc: str, reference_doc: str) -> dict:
    """The ports every ReferenceNode has (its process takes exactly these): NodeSpec(..., **reference_ports(...))."""
    return {"inputs": (Port("audio", PortKind.AUDIO, audio_doc), Port("reference", PortKind.AUDIO, reference_doc)),
            "outputs": (Port("audio", PortKind.AUDIO),)}


class ReferenceNode(Node):
    """A node with an ``audio`` and a ``reference`` input whose output is the audio, changed: the inputs are
    checked and prepared by signal_and_reference, a silent one passes the audio through, and the subclass's
    ``apply`` does the rest."""

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": inputs.get("audio", UNKNOWN)}

    def process(self, ctx, audio, reference) -> dict:
        prepared = signal_and_reference(ctx, self.spec.type_name, audio, reference)
        if prepared is None:
            return {"audio": audio}
        x, ref = prepared
        return {"audio": audio.with_samples(self.apply(ctx, x, ref, audio.sample_rate).astype(np.float32))}

    def apply(self, ctx, x: np.ndarray, ref: np.ndarray, sample_rate: int) -> np.ndarray:
        """x: the signal, float64 [channels, frames]; ref: the reference, mono float64 → the new samples."""
        raise NotImplementedError
