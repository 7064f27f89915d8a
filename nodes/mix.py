"""mix: blend two signals, e.g. a dry and a styled branch."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port, ReportRoles


class Mix(Node):
    spec = NodeSpec(
        type_name="mix",
        category="signal",
        report=ReportRoles(branches=True),
        summary="out = (1 - balance)·a + balance·b; the shorter input is padded with silence.",
        inputs=(Port("a", PortKind.AUDIO, "e.g. the dry signal"), Port("b", PortKind.AUDIO, "e.g. the wet signal")),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(Param("balance", "float", 0.5, "0 = only a, 1 = only b", min=0.0, max=1.0),),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        a, b = inputs.get("a", UNKNOWN), inputs.get("b", UNKNOWN)
        channels = max(a.channels, b.channels) if a.channels and b.channels else None
        return {"audio": a.replace(channels=channels, frames=None)}

    def process(self, ctx, a, b) -> dict:
        if a.sample_rate != b.sample_rate:
            raise ParameterError(f"mix inputs have different sample rates ({a.sample_rate} and {b.sample_rate} Hz); "
                                 "add a resample node")
        if a.channels != b.channels and 1 not in (a.channels, b.channels):
            raise ParameterError(f"mix inputs have {a.channels} and {b.channels} channels; add a mono node")
        channels = max(a.channels, b.channels)
        frames = max(a.frames, b.frames)
        out = np.zeros((channels, frames), dtype=np.float32)
        w = self.params["balance"]
        out[:, :a.frames] += (1 - w) * a.samples
        out[:, :b.frames] += w * b.samples
        return {"audio": a.with_samples(out)}
