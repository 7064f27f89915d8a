"""mono: downmix to one channel or pick one."""
from __future__ import annotations

from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port


class Mono(Node):
    spec = NodeSpec(
        type_name="mono",
        category="signal",
        summary="Downmix to mono (mean of channels) or pick one channel.",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO, "one channel"),),
        params=(
            Param("mode", "choice", "mean", "mean: average all channels; channel: keep one", choices=("mean", "channel")),
            Param("channel", "int", 0, "channel index for mode=channel (0 = left)", min=0),
        ),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": inputs.get("audio", UNKNOWN).replace(channels=1)}

    def process(self, ctx, audio) -> dict:
        if self.params["mode"] == "mean":
            return {"audio": audio.with_samples(audio.samples.mean(axis=0, keepdims=True))}
        ch = self.params["channel"]
        if ch >= audio.channels:
            raise ParameterError(f"channel={ch} but {audio.label} has {audio.channels} channel(s); pick 0..{audio.channels - 1}")
        return {"audio": audio.with_samples(audio.samples[ch:ch + 1])}
