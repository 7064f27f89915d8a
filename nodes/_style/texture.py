"""Sound-texture statistics (McDermott & Simoncelli, Neuron 2011) as a differentiable style loss.

McDermott & Simoncelli synthesise convincing textures (rain, applause, drumming) by matching a
small set of time-averaged statistics of a cochlear model; a Gram matrix of one frame-wise conv
layer misses the slower ones, which carry rhythm. Here, on the project's STFT magnitude:

- subbands: N_BANDS mel-spaced bands (ERB-like spacing) of |STFT|; envelopes e_b(t) = band^0.3
  (the cochlear compression);
- envelope moments per band: mean, coefficient of variation (σ/μ), skewness, kurtosis;
- cross-band correlations of the envelopes (the Pearson matrix: co-modulation across frequency);
- modulation power: the share of each envelope's variance in octave-wide modulation bands
  (0.5–1 … 16–32 Hz at 86 frames/s), which says how fast and how regularly each band pulses.

Each statistic group is compared with the style's by a mean squared difference, the groups summed,
so the loss is 0 for a signal against itself and does not grow with the clip's length.
"""
from __future__ import annotations

import numpy as np
import torch

N_BANDS = 32
F_MIN, F_MAX = 50.0, 16000.0
COMPRESSION = 0.3
MODULATION_EDGES_HZ = (0.5, 1, 2, 4, 8, 16, 32)
EPS = 1e-8
ENVELOPE_FLOOR = 1e-3  # relative to the mean band level (-60 dB): keeps the compression's gradient finite at silence


def band_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    import librosa

    fmax = min(F_MAX, sample_rate / 2)
    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=N_BANDS, fmin=F_MIN, fmax=fmax, htk=True,
                               norm=None).astype(np.float32)


def envelopes(magnitude: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """|STFT| [bins, frames] → compressed subband envelopes [bands, frames], level-normalised."""
    bands = filters @ magnitude
    bands = bands / bands.mean().clamp_min(EPS)  # statistics of the texture, not of its level
    return (bands + ENVELOPE_FLOOR) ** COMPRESSION


def statistics(magnitude: torch.Tensor, filters: torch.Tensor, frame_rate: float) -> dict[str, torch.Tensor]:
    e = envelopes(magnitude, filters)
    mu = e.mean(dim=1, keepdim=True)
    d = e - mu
    var = (d ** 2).mean(dim=1, keepdim=True)
    sd = torch.sqrt(var + 1e-6)
    z = d / sd
    stats = {"mean": mu[:, 0], "cv": (sd / (mu + EPS))[:, 0], "skew": (z ** 3).mean(dim=1),
             "kurtosis": (z ** 4).mean(dim=1)}
    stats["correlation"] = (z @ z.T) / e.shape[1]
    frames = e.shape[1]
    power = torch.fft.rfft(d, dim=1).abs() ** 2
    freqs = torch.fft.rfftfreq(frames, d=1.0 / frame_rate).to(e.device)
    total = power[:, 1:].sum(dim=1).clamp_min(EPS)
    shares = []
    for lo, hi in zip(MODULATION_EDGES_HZ[:-1], MODULATION_EDGES_HZ[1:]):
        sel = (freqs >= lo) & (freqs < hi)
        shares.append(power[:, sel].sum(dim=1) / total if bool(sel.any()) else torch.zeros_like(total))
    stats["modulation"] = torch.stack(shares, dim=1)
    return stats


class TextureLoss:
    """Σ over statistic groups of mean((stat(x) − stat(style))²); moments of kurtosis scale are
    divided by their style value's magnitude so no group dominates by its units."""

    def __init__(self, style_magnitude: torch.Tensor, sample_rate: int, n_fft: int, hop_length: int):
        self.filters = torch.from_numpy(band_filters(sample_rate, n_fft)).to(style_magnitude.device)
        self.frame_rate = sample_rate / hop_length
        with torch.no_grad():
            self.target = statistics(style_magnitude, self.filters, self.frame_rate)
        self.scale = {k: v.abs().mean().clamp_min(EPS) for k, v in self.target.items()}

    def __call__(self, magnitude: torch.Tensor) -> torch.Tensor:
        stats = statistics(magnitude, self.filters, self.frame_rate)
        return sum((((stats[k] - t) / self.scale[k]) ** 2).mean() for k, t in self.target.items())
