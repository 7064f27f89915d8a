"""Players and spectrograms for a set of signals, written into a report folder with one colour scale."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import html
from .audio_files import level_dbfs, write_wav
from .plots import plot_spectrogram, spectrogram_db


@dataclass
class Clip:
    key: str  # file-name safe, unique in the folder
    role: str
    label: str
    samples: np.ndarray  # [channels, frames]
    sample_rate: int


def unique_key(base: str, taken: set[str]) -> str:
    """A file-name-safe key from ``base`` that is not in ``taken``."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in base)
    key, n = safe, 2
    while key in taken:
        key, n = f"{safe}_{n}", n + 1
    return key


def write_clips(folder: Path, clips: list[Clip]) -> list[dict]:
    """audio/<key>.wav and img/spec_<key>.png for each clip; returns their facts for JSON and pages."""
    (folder / "audio").mkdir(exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    spectra = [spectrogram_db(c.samples, c.sample_rate) for c in clips]
    vmax = max((float(s.max()) for s in spectra if s.size), default=0.0)
    entries = []
    for clip, db in zip(clips, spectra):
        audio_rel, image_rel = f"audio/{clip.key}.wav", f"img/spec_{clip.key}.png"
        write_wav(folder / audio_rel, clip.samples, clip.sample_rate)
        drawn = plot_spectrogram(db, clip.sample_rate, folder / image_rel, clip.label, vmax)
        peak, rms = level_dbfs(clip.samples)
        entries.append({"key": clip.key, "role": clip.role, "label": clip.label, "audio": audio_rel,
                        "spectrogram": image_rel, "spectrogram_plot": drawn,
                        "seconds": clip.samples.shape[1] / clip.sample_rate, "sample_rate": clip.sample_rate,
                        "channels": int(clip.samples.shape[0]), "peak_dbfs": peak, "rms_dbfs": rms})
    return entries


def cards(entries: list[dict]) -> str:
    out = []
    for e in entries:
        facts = (f"{e['seconds']:.2f} s · {e['sample_rate']} Hz · {e['channels']} ch · peak {html.number(e['peak_dbfs'], 1)} dBFS"
                 f" · RMS {html.number(e['rms_dbfs'], 1)} dBFS")
        out.append(html.audio_card(e["label"], e["role"], e["audio"], e["spectrogram"], facts))
    return '<div class="cards">' + "".join(out) + "</div>"
