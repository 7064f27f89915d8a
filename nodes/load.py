"""load: read an audio file with pedalboard (wav, flac, aiff, mp3, ogg)."""
from __future__ import annotations

from audiostyle_engine.audio_io import header_info, read_audio
from audiostyle_engine.errors import InputFileError
from audiostyle_engine.payloads import Audio, PortKind
from audiostyle_engine.spec import Node, NodeSpec, Param, Port, ReportRoles


class Load(Node):
    spec = NodeSpec(
        type_name="load",
        category="io",
        report=ReportRoles(reads="path"),
        summary="Read an audio file (wav, flac, aiff, mp3, ogg) as float32 samples.",
        outputs=(Port("audio", PortKind.AUDIO, "the decoded audio, all channels"),),
        params=(
            Param("path", "path", doc="audio file to read"),
            Param("offset", "float", 0.0, "start reading this far into the file", min=0.0, unit="s"),
            Param("duration", "float", None, "read at most this much (null: to the end)", min=0.0, unit="s", nullable=True),
            Param("min_seconds", "float", 0.0, "refuse files shorter than this (after offset)", min=0.0, unit="s"),
        ),
    )

    @classmethod
    def infer_outputs(cls, params, inputs):
        info = header_info(params["path"])
        if info.frames is not None:  # what offset and duration leave of the file
            start = min(int(round(params["offset"] * info.sample_rate)), info.frames)
            left = info.frames - start
            wanted = left if params["duration"] is None else min(int(round(params["duration"] * info.sample_rate)), left)
            info = info.replace(frames=wanted)
        return {"audio": info}

    def process(self, ctx, **_) -> dict:
        path = self.params["path"]
        samples, sample_rate = read_audio(path, self.params["offset"], self.params["duration"])
        audio = Audio(samples, sample_rate, source=path)
        if audio.frames == 0:
            raise InputFileError(f"'{path}' has no audio after offset {self.params['offset']} s; use a smaller offset or another file")
        if audio.duration < self.params["min_seconds"]:
            raise InputFileError(f"'{path}' is {audio.duration:.2f} s long but at least {self.params['min_seconds']:g} s "
                                 "are needed; use a longer clip")
        return {"audio": audio}
