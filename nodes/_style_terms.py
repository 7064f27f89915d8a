"""Loss terms beyond the paper, added to the style-transfer objective (nodes/_style_core.py).

A term is bound once to the objective (to compute its style target) and then called with the
input x and the main conv features f = ReLU(conv(x)); it returns a scalar tensor that autograd
differentiates together with the paper's loss.

- AutocorrelationTerm: the Gram discards when things happen; the autocorrelation of each feature
  map over time keeps it, which is what carries rhythm (Antognini, Hoffman, Weiss, ICASSP 2019).
- WidthGramTerm: a Gram loss on a second random conv layer of another kernel width, so patterns
  shorter or longer than the main layer's 11 frames enter the style statistics (the paper's future
  scope; Antognini et al. also combine several widths).
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ._style_core import features, glorot_filters, gram


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
            style_feats = features(objective.style, objective.weights)
            lag_room = min(style_feats.shape[1], objective.content_features.shape[1]) // 2
            self.lag = max(1, min(self.max_lag, lag_room))  # longer lags average too few frames to be statistics
            self.target = autocorrelation(style_feats, self.lag)

    def __call__(self, x: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.weight * ((autocorrelation(feats, self.lag) - self.target) ** 2).sum()


class WidthGramTerm:
    """weight · Σ(G_w(x) − G_w(style))² for a random conv of width w with its own filters."""

    def __init__(self, width: int, weight: float, seed: int):
        self.width = width
        self.weight = weight
        self.seed = seed

    def bind(self, objective) -> None:
        cfg = replace(objective.cfg, kernel_width=self.width)
        # Its own seed: filters of another width must not share draws with the main layer's.
        self.weights = glorot_filters(objective.content.shape[0], cfg, self.seed + 7919 * self.width,
                                      objective.weights.device)
        self.normalization = cfg.gram_normalization
        with torch.no_grad():
            self.target = gram(features(objective.style, self.weights), self.normalization)

    def __call__(self, x: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.weight * ((gram(features(x, self.weights), self.normalization) - self.target) ** 2).sum()


def build_terms(*, autocorrelation_weight: float, autocorrelation_lag: int, extra_kernel_widths, beta: float,
                seed: int) -> list:
    terms = []
    if autocorrelation_weight > 0:
        terms.append(AutocorrelationTerm(autocorrelation_weight, autocorrelation_lag))
    for width in extra_kernel_widths:
        terms.append(WidthGramTerm(int(width), beta, seed))
    return terms
