"""Style-transfer optimisation over another variable z, with the log-magnitude x = g(z).

- Bounded: x = lower_bound + z², so torch's L-BFGS (on the run device) keeps every log-magnitude
  ≥ the bound, as the paper's L-BFGS-B does, and no bin comes out as a negative magnitude.
- Waveform: x = log(1 + |STFT(w)|), z = w the signal itself (Caracalla & Roebel 2019): the result
  is a consistent STFT by construction, so no phase has to be recovered afterwards.

Both reuse the paper's objective unchanged (either implementation; core.transfer chains the gradient of
to_x onto the objective's by autograd); only the variable L-BFGS moves differs.
"""
from __future__ import annotations

import numpy as np
import torch

from .._spectral import stft


class Bounded:
    """x = lower_bound + z², z started at √|x0 − bound|.

    The start is reflected at the bound, not clamped to it: a clamped bin has z = 0, where the gradient
    2z·∂L/∂x is 0 — it would never move again (measured: 48 % of bins from the paper's random start)."""

    def __init__(self, lower_bound: float):
        self.lower_bound = lower_bound

    def start(self, x0: torch.Tensor) -> torch.Tensor:
        return (x0 - self.lower_bound).abs().sqrt()

    def to_x(self, z: torch.Tensor) -> torch.Tensor:
        return self.lower_bound + z * z


class Waveform:
    """x = log1p(|STFT(w)|) of a signal w of ``length`` samples; ``phase`` holds STFT(w)'s phase after a run."""

    def __init__(self, *, n_fft: int, hop_length: int, win_length: int, window: str, length: int, init_scale: float,
                 seed: int, initial_signal: np.ndarray | None = None):
        self.stft_args = (n_fft, hop_length, win_length, window)
        self.length = length
        self.init_scale = init_scale
        self.seed = seed
        self.initial_signal = initial_signal
        self.phase: np.ndarray | None = None

    def start(self, x0: torch.Tensor) -> torch.Tensor:
        # White noise whose level plays the part of the paper's small random log-magnitude start.
        w = torch.randn(self.length, generator=torch.Generator().manual_seed(self.seed + 1)) * self.init_scale
        if self.initial_signal is not None:
            w = w + torch.from_numpy(np.asarray(self.initial_signal, dtype=np.float32))
        return w.to(x0.device)

    def spectrum(self, w: torch.Tensor) -> torch.Tensor:
        return stft(w.unsqueeze(0), *self.stft_args)[0]

    def to_x(self, w: torch.Tensor) -> torch.Tensor:
        s = self.spectrum(w)
        # sqrt(re² + im² + ε): |·| has no gradient at 0, and silent bins do occur.
        return torch.log1p(torch.sqrt(s.real ** 2 + s.imag ** 2 + 1e-12))

    def finish(self, w: torch.Tensor) -> None:
        with torch.no_grad():
            self.phase = self.spectrum(w).angle().to("cpu", torch.float32).numpy()
