"""write: encode audio to a file, atomically (temp file beside it, renamed when the run succeeds)."""
from __future__ import annotations

import os

import numpy as np

from audiostyle_engine.audio_io import EXTENSIONS, INTEGER_DEPTHS
from audiostyle_engine.payloads import PortKind, require_finite
from audiostyle_engine.spec import Node, NodeSpec, Param, ParamProblem, Port, ReportRoles



class Write(Node):
    spec = NodeSpec(
        type_name="write",
        category="io",
        report=ReportRoles(writes="path"),
        summary="Write audio; the format follows the extension (wav, flac, aiff, ogg, mp3).",
        inputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("path", "out_path", doc="output file; its folder is created when missing"),
            Param("bit_depth", "choice", 24, "sample format for wav/aiff/flac (32 = 32-bit float for wav/aiff)",
                  choices=(16, 24, 32)),
            Param("quality", "float", None, "lossy formats: encoder quality (mp3: V0..V9 as 0..9, ogg: 0..1)",
                  nullable=True, min=0.0, max=320.0),
            Param("clip", "choice", "warn", "what to do with samples beyond ±1: warn (and clip), clip, error",
                  choices=("warn", "clip", "error")),
        ),
    )

    @classmethod
    def check_params(cls, params):
        ext = os.path.splitext(params["path"])[1].lower()
        if ext not in EXTENSIONS:
            return [ParamProblem("path", f"cannot write '{ext or 'no extension'}' files; use one of {', '.join(EXTENSIONS)}")]
        if ext in INTEGER_DEPTHS and params["bit_depth"] not in INTEGER_DEPTHS[ext]:
            return [ParamProblem("bit_depth", f"bit_depth={params['bit_depth']} is not available for {ext}; "
                                 f"use one of {INTEGER_DEPTHS[ext]}")]
        return []

    def process(self, ctx, audio) -> dict:
        from pedalboard.io import AudioFile

        from audiostyle_engine.errors import ParameterError

        samples = audio.samples
        require_finite(samples, f"cannot write {self.params['path']}")
        # max and -min instead of max(abs): no temporary copy of the whole signal.
        peak = max(float(samples.max()), -float(samples.min())) if samples.size else 0.0
        if peak > 1.0:
            if self.params["clip"] == "error":
                raise ParameterError(f"output peak is {20 * np.log10(peak):+.1f} dBFS, above full scale; "
                                     "add a normalize or limiter node before write")
            if self.params["clip"] == "warn":
                ctx.warn(f"output peak {20 * np.log10(peak):+.1f} dBFS clipped to 0 dBFS in {self.params['path']}")
            samples = np.clip(samples, -1.0, 1.0)
        path = self.params["path"]
        ext = os.path.splitext(path)[1].lower()
        temp = ctx.output_path(path)
        kwargs = {}
        if ext in INTEGER_DEPTHS:
            kwargs["bit_depth"] = self.params["bit_depth"]
        if self.params["quality"] is not None and ext in (".mp3", ".ogg"):
            kwargs["quality"] = self.params["quality"]
        with AudioFile(str(temp), "w", samplerate=audio.sample_rate, num_channels=audio.channels, **kwargs) as f:
            f.write(samples)
        return {}
