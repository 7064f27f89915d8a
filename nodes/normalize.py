"""normalize: set the peak level or the integrated loudness (ITU-R BS.1770, via pyloudnorm)."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.loudness import integrated_loudness
from audiostyle_engine.payloads import PortKind, require_finite
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port


class Normalize(Node):
    spec = NodeSpec(
        type_name="normalize",
        category="signal",
        summary="Scale to a peak level (dBFS) or an integrated loudness (LUFS).",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("mode", "choice", "peak", "peak: sample peak; loudness: BS.1770 integrated loudness",
                  choices=("peak", "loudness")),
            Param("peak_db", "float", -1.0, "target sample peak for mode=peak", min=-60.0, max=0.0, unit="dBFS"),
            Param("lufs", "float", -14.0, "target loudness for mode=loudness", min=-60.0, max=0.0, unit="LUFS"),
            Param("max_peak_db", "float", -1.0, "after loudness gain, turn down so the peak stays below this",
                  min=-60.0, max=6.0, unit="dBFS"),
        ),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": inputs.get("audio", UNKNOWN)}

    def process(self, ctx, audio) -> dict:
        samples = audio.samples
        require_finite(samples, f"cannot normalize {audio.label}")
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak <= 1e-9:
            ctx.warn(f"{audio.label} is silent; left as it is")
            return {"audio": audio}
        if self.params["mode"] == "peak":
            gain = 10 ** (self.params["peak_db"] / 20) / peak
        else:
            loudness = integrated_loudness(samples, audio.sample_rate)
            if not np.isfinite(loudness):
                ctx.warn(f"{audio.label} is too short or quiet for a loudness measurement; left as it is")
                return {"audio": audio}
            gain = 10 ** ((self.params["lufs"] - loudness) / 20)
            ceiling = 10 ** (self.params["max_peak_db"] / 20)
            if peak * gain > ceiling:
                ctx.warn(f"loudness target {self.params['lufs']} LUFS would peak at {20 * np.log10(peak * gain):+.1f} dBFS; "
                         f"limited to {self.params['max_peak_db']} dBFS")
                gain = ceiling / peak
        return {"audio": audio.with_samples(samples * np.float32(gain))}
