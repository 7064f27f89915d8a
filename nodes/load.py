"""load: read an audio file with pedalboard (wav, flac, aiff, mp3, ogg)."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.errors import InputFileError
from audiostyle_engine.payloads import Audio, PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, Port, ReportRoles, StreamInfo


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
    _check_complete(path, total)
    if samples.shape[1] < count:
        raise InputFileError(f"'{path}' is truncated: {samples.shape[1]} of {count} frames could be read; re-export it")
    # A sum is NaN/inf when any sample is; only then is the element-wise check (a full-size temporary) run.
    if not np.isfinite(samples.sum()) and not np.all(np.isfinite(samples)):
        raise InputFileError(f"'{path}' contains NaN or infinite samples; re-export it")
    return samples, sample_rate


def _check_complete(path: str, header_frames: int) -> None:
    """pedalboard fills a truncated file's missing frames with silence without a word; libsndfile
    notices. Uncompressed files are checked by size, compressed ones by decoding them once."""
    import soundfile

    try:
        info = soundfile.info(path)
    except (soundfile.LibsndfileError, RuntimeError):
        return  # a format libsndfile does not read (e.g. some mp3s); nothing more to check with it
    try:
        if info.format in ("WAV", "WAVEX", "AIFF", "RF64", "W64"):
            decoded = info.frames
        else:
            decoded = sum(len(block) for block in soundfile.blocks(path, blocksize=1 << 16))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise InputFileError(f"'{path}' is corrupt or truncated ({_first_line(exc)}); re-export it") from None
    # Lossy codecs pad to whole frames, so their headers may promise up to a couple of codec frames more.
    slack = 0 if info.format in ("WAV", "WAVEX", "AIFF", "RF64", "W64", "FLAC") else 4096
    if decoded + slack < header_frames:
        raise InputFileError(f"'{path}' is truncated: its header promises {header_frames} frames but only {decoded} "
                             "are there; re-export it") from None


def header_info(path: str) -> StreamInfo:
    """Channels and rate from the file header alone (no decoding); unknown when it cannot be read,
    since the run reports unreadable files with the full reason."""
    from pedalboard.io import AudioFile

    try:
        with AudioFile(path) as f:
            return StreamInfo(int(f.num_channels), int(round(f.samplerate)), int(f.frames), origin=f"'{path}'")
    except Exception:
        return UNKNOWN


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
