"""Loss terms beyond the paper, added to the style-transfer objective (nodes/_style/core.py).

A term is bound once to the objective (to compute its style target) and then called with the
input x and the main conv features f = ReLU(conv(x)); it returns a scalar tensor that autograd
differentiates together with the paper's loss.

- AutocorrelationTerm: the Gram discards when things happen; the autocorrelation of each feature
  map over time keeps it, which is what carries rhythm (Antognini, Hoffman, Weiss, ICASSP 2019).

Several kernel widths (the paper's future scope; Antognini et al. combine several) are conv layers of
their own in core.py (``extra_kernel_widths``), on both the fast and the plain implementation.
"""
from __future__ import annotations

import torch

from .core import features


def autocorrelation(feats: torch.Tensor, max_lag: int) -> torch.Tensor:
    """[filters, frames] → [filters, max_lag + 1]: Σ_t f(t)·f(t+τ) / (frames − τ), by FFT."""
    frames = feats.shape[1]
    n = 1 << (2 * frames - 1).bit_length()
    spectrum = torch.fft.rfft(feats, n=n)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    ac = torch.fft.irfft(power, n=n)[:, :max_lag + 1]
    overlap = torch.arange(frames, frames - max_lag - 1, -1, device=feats.device, dtype=feats.dtype)
    return ac / overlap


class AutocorrelationTerm:
    """weight · Σ_filters Σ_τ≤max_lag (A_x − A_style)², A the per-frame-normalised autocorrelation."""

    def __init__(self, weight: float, max_lag: int):
        self.weight = weight
        self.max_lag = max_lag

    def bind(self, objective) -> None:
        with torch.no_grad():
            style_feats = features(objective.style, objective.main_weights)
            lag_room = min(style_feats.shape[1], objective.main_content_features.shape[1]) // 2
            self.lag = max(1, min(self.max_lag, lag_room))  # longer lags average too few frames to be statistics
            self.target = autocorrelation(style_feats, self.lag)

    def __call__(self, x: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.weight * ((autocorrelation(feats, self.lag) - self.target) ** 2).sum()


def build_terms(*, autocorrelation_weight: float, autocorrelation_lag: int) -> list:
    terms = []
    if autocorrelation_weight > 0:
        terms.append(AutocorrelationTerm(autocorrelation_weight, autocorrelation_lag))
    return terms
