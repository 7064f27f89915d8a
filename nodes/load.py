"""load: read an audio file with pedalboard (wav, flac, aiff, mp3, ogg)."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import InputFileError
from audiostyle_engine.payloads import Audio, PortKind
from audiostyle_engine.spec import Node, NodeSpec, Param, Port


class Load(Node):
    spec = NodeSpec(
        type_name="load",
        category="io",
        summary="Read an audio file (wav, flac, aiff, mp3, ogg) as float32 samples.",
        outputs=(Port("audio", PortKind.AUDIO, "the decoded audio, all channels"),),
        params=(
            Param("path", "path", doc="audio file to read"),
            Param("offset", "float", 0.0, "start reading this far into the file", min=0.0, unit="s"),
            Param("duration", "float", None, "read at most this much (null: to the end)", min=0.0, unit="s", nullable=True),
            Param("min_seconds", "float", 0.0, "refuse files shorter than this (after offset)", min=0.0, unit="s"),
        ),
    )

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


def read_audio(path: str, offset: float = 0.0, duration: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 [channels, frames]; every decoding failure becomes one clear error."""
    from pedalboard.io import AudioFile

    try:
        with AudioFile(path) as f:
            sample_rate = int(round(f.samplerate))
            total = f.frames
            start = min(int(round(offset * sample_rate)), total)
            count = total - start if duration is None else min(int(round(duration * sample_rate)), total - start)
            f.seek(start)
            samples = f.read(count)
    except FileNotFoundError:
        raise InputFileError(f"'{path}' not found; check the path") from None
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        raise InputFileError(f"cannot decode '{path}': {_first_line(exc)}; the file is corrupt, truncated or not a "
                             "supported format (wav, flac, aiff, mp3, ogg) — re-export it") from None
    samples = np.asarray(samples, dtype=np.float32)
    if samples.shape[1] < count:
        raise InputFileError(f"'{path}' is truncated: {samples.shape[1]} of {count} frames could be read; re-export it")
    # A sum is NaN/inf when any sample is; only then is the element-wise check (a full-size temporary) run.
    if not np.isfinite(samples.sum()) and not np.all(np.isfinite(samples)):
        raise InputFileError(f"'{path}' contains NaN or infinite samples; re-export it")
    return samples, sample_rate


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
