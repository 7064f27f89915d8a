"""trim: keep a time range, with optional short fades so the cut does not click."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import InputFileError
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port


class Trim(Node):
    spec = NodeSpec(
        type_name="trim",
        category="signal",
        summary="Keep offset..offset+duration; pads with silence to exactly duration when pad is true.",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("offset", "float", 0.0, "start of the kept range", min=0.0, unit="s"),
            Param("duration", "float", None, "length of the kept range (null: to the end)", min=0.0, unit="s", nullable=True),
            Param("pad", "bool", False, "pad with silence when the audio is shorter than duration"),
            Param("fade", "float", 0.0, "linear fade-in and fade-out length", min=0.0, unit="s"),
        ),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        return {"audio": inputs.get("audio", UNKNOWN).replace(frames=None)}

    def process(self, ctx, audio) -> dict:
        sr = audio.sample_rate
        start = int(round(self.params["offset"] * sr))
        if start >= audio.frames:
            raise InputFileError(f"{audio.label} is {audio.duration:.2f} s long, shorter than trim offset {self.params['offset']:g} s")
        duration = self.params["duration"]
        stop = audio.frames if duration is None else min(audio.frames, start + int(round(duration * sr)))
        samples = audio.samples[:, start:stop].copy()
        if duration is not None and self.params["pad"]:
            want = int(round(duration * sr))
            if samples.shape[1] < want:
                samples = np.pad(samples, ((0, 0), (0, want - samples.shape[1])))
        fade = min(int(round(self.params["fade"] * sr)), samples.shape[1] // 2)
        if fade > 0:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            samples[:, :fade] *= ramp
            samples[:, -fade:] *= ramp[::-1]
        return {"audio": audio.with_samples(samples)}
