"""Style-transfer optimisation over another variable z, with the log-magnitude x = g(z).

- Bounded: x = lower_bound + z², so torch's L-BFGS (on the run device) keeps every log-magnitude
  ≥ the bound, as the paper's L-BFGS-B does, and no bin comes out as a negative magnitude.
- Waveform: x = log(1 + |STFT(w)|), z = w the signal itself (Caracalla & Roebel 2019): the result
  is a consistent STFT by construction, so no phase has to be recovered afterwards.

Both reuse the paper's objective unchanged; only the variable L-BFGS moves differs.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .._spectral import stft
from .core import History, correlation


class Bounded:
    """x = lower_bound + z², z started at √(x0 − bound)."""

    def __init__(self, lower_bound: float):
        self.lower_bound = lower_bound

    def start(self, x0: torch.Tensor) -> torch.Tensor:
        return (x0 - self.lower_bound).clamp_min(0).sqrt()

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


def optimise(objective, x0: torch.Tensor, parametrisation, cfg, progress=None) -> tuple[torch.Tensor, History]:
    """torch L-BFGS over z = parametrisation.start(x0); returns x = g(z_final) and the history."""
    z = parametrisation.start(x0).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([z], lr=1.0, max_iter=cfg.iterations, max_eval=cfg.iterations * 25,
                            history_size=cfg.history_size, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-14)
    history = History()
    best: dict[int, tuple] = {}
    t0 = time.perf_counter()

    def closure():
        opt.zero_grad()
        x = parametrisation.to_x(z)
        loss, lc, ls = objective(x)
        loss.backward()
        with torch.no_grad():
            point = (loss.item(), lc.item(), ls.item(), correlation(x, objective.content).item())
        history.evaluations += 1
        iteration = opt.state[z].get("n_iter", 0)
        if iteration not in best or point[0] < best[iteration][0]:
            best[iteration] = point
        if progress:
            progress(iteration, cfg.iterations, point[0])
        return loss

    opt.step(closure)
    for iteration in sorted(best):
        history.add(iteration, best[iteration], t0)
    if hasattr(parametrisation, "finish"):
        parametrisation.finish(z.detach())
    with torch.no_grad():
        return parametrisation.to_x(z.detach()), history
