"""Audio files: the formats audiostyle reads and writes, decoding with every failure as one clear
error, and header facts without decoding. The load and write nodes, batch and watch input discovery
and the report's compare command all use this one module."""
from __future__ import annotations

import numpy as np

from .errors import InputFileError
from .spec import UNKNOWN, StreamInfo

# Extensions read (pedalboard, libsndfile and ffmpeg-free decoders) and written (format from the extension).
EXTENSIONS = (".wav", ".flac", ".aiff", ".aif", ".mp3", ".ogg")
# Integer sample formats each container takes (wav/aiff 32 = 32-bit float).
INTEGER_DEPTHS = {".wav": (16, 24, 32), ".aiff": (16, 24, 32), ".aif": (16, 24, 32), ".flac": (16, 24)}


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
