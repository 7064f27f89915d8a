"""A rhythm loss on the onset envelope: how often the whole sound starts anew, not how each feature repeats.

pretrained.autocovariance compares every channel's repetition over time, hundreds of curves; on a sustained
style (a violin phrase) that pulls the content's textures onto a loop's grid (measured: docs/quality.md).
Here one curve per clip: the spectral flux of the network's own log-mel front end, averaged over the bands,
and its autocorrelation normalised at lag 0, so a loud and a quiet clip with the same beat agree. Its loss is
the squared difference from the style's, as a fraction of the content's: 1 at the content's rhythm, 0 at the
style's (the scale of the other relative terms, whatever the clips)."""
from __future__ import annotations

import torch


def onset_envelope(log_mel: torch.Tensor) -> torch.Tensor:
    """[frames, bands] → [frames − 1]: the positive change from each frame to the next, averaged over bands."""
    return torch.relu(log_mel[1:] - log_mel[:-1]).mean(dim=1)


def onset_autocorrelation(envelope: torch.Tensor, lags: int) -> torch.Tensor:
    """[frames] → [lags]: lags 1..lags of the mean-removed envelope's autocorrelation, each averaged over the
    frames it overlaps and divided by lag 0's."""
    e = envelope - envelope.mean()
    t = e.shape[0]
    spectrum = torch.fft.rfft(e, n=2 * t)
    ac = torch.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=2 * t)[:lags + 1]
    ac = ac / torch.arange(t, t - lags - 1, -1, dtype=ac.dtype, device=ac.device)
    return ac[1:] / ac[0].clamp_min(1e-12)


class OnsetRhythmLoss:
    """power [bins, frames] → ‖A(x) − A(style)‖² / ‖A(content) − A(style)‖², A the onset autocorrelation of the
    front end's log-mel up to ``seconds`` (and never beyond half of either clip)."""

    def __init__(self, front_end, content_power: torch.Tensor, style_power: torch.Tensor, seconds: float,
                 hop_seconds: float):
        self.front_end = front_end
        with torch.no_grad():
            style_env, content_env = self._envelope(style_power), self._envelope(content_power)
            self.lags = max(1, min(int(round(seconds / hop_seconds)), style_env.shape[0] // 2,
                                   content_env.shape[0] // 2))
            self.target = onset_autocorrelation(style_env, self.lags)
            # A content whose rhythm is nearly the style's already leaves little to move: the scale is floored at a
            # hundredth of the style curve's own energy (and 1e-6), so the term cannot outweigh the rest a millionfold.
            content_distance = float(((onset_autocorrelation(content_env, self.lags) - self.target) ** 2).sum())
            self.scale = max(content_distance, 0.01 * float((self.target ** 2).sum()), 1e-6)

    def _envelope(self, power: torch.Tensor) -> torch.Tensor:
        return onset_envelope(self.front_end(power)[0, 0])

    def __call__(self, power: torch.Tensor) -> torch.Tensor:
        return ((onset_autocorrelation(self._envelope(power), self.lags) - self.target) ** 2).sum() / self.scale
