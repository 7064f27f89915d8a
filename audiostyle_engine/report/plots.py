"""Report figures (matplotlib, Agg: no display needed). Each plot function returns the series it
actually drew, read back from the figure, so the metrics JSON holds exactly what is plotted."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from .. import settings

DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)


def _drawn(line) -> dict:
    return {"x": [float(v) for v in line.get_xdata()], "y": [float(v) for v in line.get_ydata()]}


def plot_losses(history: dict, declared, path: Path, title: str) -> dict:
    """The declared loss series per iteration on a log scale (style transfer: the paper's Fig. 2)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    drawn = {}
    for (key, label), style in zip(declared.losses, itertools.cycle(("-", "--", ":", "-."))):
        values = np.asarray(history.get(key, []), dtype=float)
        # A log axis cannot show zeros; they are left out of the line (and so of the drawn series), and a
        # series with none left (a term the run did not weigh) out of the legend.
        mask = values > 0
        (line,) = ax.plot(np.asarray(history[declared.iteration])[mask], values[mask], style, linewidth=1.6,
                          label=label if mask.any() else "_nolegend_")
        drawn[key] = _drawn(line)
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    return drawn


def plot_correlation(history: dict, declared, path: Path, title: str) -> dict:
    """The declared correlation series per iteration (style transfer: with the content, the paper's Fig. 3)."""
    key, label = declared.correlation
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    (line,) = ax.plot(history[declared.iteration], history[key], "-", color="tab:green", linewidth=1.6)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("iteration")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _save(fig, path)
    return {key: _drawn(line)}


def spectrogram_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono log-magnitude in dB relative to a full-scale sine, [bins, frames]."""
    import librosa

    x = np.asarray(samples, dtype=np.float32)
    x = x.mean(axis=0) if x.ndim == 2 else x
    n_fft = settings.QUALITY_N_FFT
    mag = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=settings.QUALITY_HOP_LENGTH))
    # A Hann window sums to n_fft/2 and a real sine splits between ±f, so a full-scale sine peaks at n_fft/4.
    window_gain = n_fft / 4
    return 20 * np.log10(np.maximum(mag / window_gain, 1e-10))


def plot_spectrogram(db: np.ndarray, sample_rate: int, path: Path, title: str, vmax: float) -> dict:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 2.8))
    seconds = db.shape[1] * settings.QUALITY_HOP_LENGTH / sample_rate
    vmin = vmax - settings.REPORT_SPECTROGRAM_RANGE_DB
    image = ax.imshow(_pool_frames(db, MAX_IMAGE_FRAMES), origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
                      extent=(0, seconds, 0, sample_rate / 2000), interpolation="nearest")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="dBFS", pad=0.01)
    _save(fig, path)
    return {"seconds": seconds, "vmin": vmin, "vmax": vmax, "bins": db.shape[0], "frames": db.shape[1]}


MAX_IMAGE_FRAMES = 2000  # more columns than the image has pixels only costs memory


def _pool_frames(db: np.ndarray, limit: int) -> np.ndarray:
    """Long signals: the loudest of each run of frames, so short events stay visible when drawn small."""
    factor = -(-db.shape[1] // limit)
    if factor <= 1:
        return db
    pad = (-db.shape[1]) % factor
    padded = np.pad(db, ((0, 0), (0, pad)), constant_values=db.min())
    return padded.reshape(db.shape[0], -1, factor).max(axis=2)


def plot_timings(timings: dict[str, float], path: Path) -> dict:
    plt = _pyplot()
    names = list(timings)
    values = [timings[n] for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.0))
    bars = ax.barh(names[::-1], values[::-1], color="tab:blue")
    ax.set_xlabel("seconds")
    ax.set_title("time per node")
    ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path)
    return {"seconds": [float(b.get_width()) for b in bars][::-1], "nodes": names}


def plot_frontier(curve: list[dict], results: list[dict], path: Path, title: str, placebos=()) -> dict:
    """Each result's (content position, style position) against the layering curve (content + f·style):
    a point above the curve is closer to the style than a plain mix that keeps as much content. Placebos (the
    same mixes with the style placed elsewhere) are drawn as small crosses: how far placement alone moves a mix."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    pts = sorted((r["content_position"], r["style_position"], r["label"]) for r in curve)
    (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="0.55", linewidth=1.4,
                      label="layering: content + style mix")
    if placebos:
        ax.plot([r["content_position"] for r in placebos], [r["style_position"] for r in placebos], "x",
                color="0.35", markersize=5, label="the same mixes, style placed elsewhere")
    labelled = []  # near the content the mixes crowd together: label only those clear of a labelled one
    for x, y, label in sorted(pts, key=lambda p: -p[0]):
        if label.startswith("mix") and all(np.hypot(x - a, y - b) > 0.05 for a, b in labelled):
            labelled.append((x, y))
            ax.annotate(label.split(" ")[1] + " %", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7,
                        color="0.4")
    for r in results:
        ax.plot([r["content_position"]], [r["style_position"]], "*", markersize=12, label=r["label"][:48])
    ax.set_xlabel("content position (1 = the content)")
    ax.set_ylabel("style position (1 = the style)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    _save(fig, path)
    return {"layering": _drawn(line)}
