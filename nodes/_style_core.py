"""The paper's style transfer on spectrograms, in torch: one random conv layer over time,
content loss on its features, style loss on their Gram matrices, L-BFGS over the input."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class StyleConfig:
    n_filters: int
    kernel_width: int
    alpha: float
    beta: float
    iterations: int
    optimizer: str  # "lbfgs" (torch, on the run device) or "lbfgs-b" (scipy, the paper's)
    history_size: int
    init_scale: float
    gram_normalization: str  # "frames" or "none"
    lower_bound: float | None = None


@dataclass
class History:
    iteration: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    content_loss: list = field(default_factory=list)
    style_loss: list = field(default_factory=list)
    content_correlation: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    evaluations: int = 0

    def add(self, iteration, point, t0):
        self.iteration.append(iteration)
        for key, value in zip(("loss", "content_loss", "style_loss", "content_correlation"), point):
            getattr(self, key).append(float(value))
        self.seconds.append(time.perf_counter() - t0)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("iteration", "loss", "content_loss", "style_loss",
                                               "content_correlation", "seconds", "evaluations")}


def glorot_filters(n_bins: int, cfg: StyleConfig, seed: int, device) -> torch.Tensor:
    """[filters, bins, width] drawn from Glorot's truncated normal, built on the CPU from the seed
    so that every device gets the same filters."""
    fan_in = n_bins * cfg.kernel_width
    fan_out = cfg.n_filters * cfg.kernel_width
    std = math.sqrt(2.0 / (fan_in + fan_out))
    # Truncating at ±2σ shrinks the spread; dividing by this constant restores σ (as Keras does).
    raw_std = std / 0.87962566103423978
    weights = torch.empty(cfg.n_filters, n_bins, cfg.kernel_width)
    torch.nn.init.trunc_normal_(weights, 0.0, raw_std, -2 * raw_std, 2 * raw_std,
                                generator=torch.Generator().manual_seed(seed))
    return weights.to(device)


def features(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """[bins, frames] → ReLU(conv) as [filters, frames - width + 1]."""
    return torch.relu(torch.nn.functional.conv1d(x.unsqueeze(0), weights)).squeeze(0)


def gram(feats: torch.Tensor, normalization: str) -> torch.Tensor:
    g = feats @ feats.T
    return g / feats.shape[1] if normalization == "frames" else g


def correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.flatten() - a.mean()
    b = b.flatten() - b.mean()
    return (a @ b) / (a.norm() * b.norm()).clamp_min(1e-12)


class Objective:
    """L(x) = α·Σ(F(x) − F(c))² + β·Σ(G(x) − G(s))², with the targets computed once."""

    def __init__(self, content: torch.Tensor, style: torch.Tensor, weights: torch.Tensor, cfg: StyleConfig,
                 terms=()):
        self.cfg = cfg
        self.weights = weights
        self.content = content
        self.style = style
        with torch.no_grad():
            self.content_features = features(content, weights)
            self.style_gram = gram(features(style, weights), cfg.gram_normalization)
        self.terms = list(terms)  # options beyond the paper, nodes/_style_terms.py
        for term in self.terms:
            term.bind(self)

    def __call__(self, x: torch.Tensor):
        f = features(x, self.weights)
        content_loss = ((f - self.content_features) ** 2).sum()
        style_loss = ((gram(f, self.cfg.gram_normalization) - self.style_gram) ** 2).sum()
        loss = self.cfg.alpha * content_loss + self.cfg.beta * style_loss
        for term in self.terms:
            loss = loss + term(x, f)
        return loss, content_loss, style_loss


def transfer(content: np.ndarray, style: np.ndarray, cfg: StyleConfig, *, device: str, seed: int,
             progress=None, terms=(), parametrisation=None, initial: np.ndarray | None = None
             ) -> tuple[np.ndarray, History]:
    """Optimise a [bins, frames] log-magnitude so its features match ``content`` and its Grams ``style``."""
    n_bins = content.shape[0]
    weights = glorot_filters(n_bins, cfg, seed, device)
    objective = Objective(torch.from_numpy(content).to(device), torch.from_numpy(style).to(device), weights, cfg,
                          terms)
    start = torch.randn(content.shape, generator=torch.Generator().manual_seed(seed + 1)) * cfg.init_scale
    if initial is not None:  # e.g. the content itself instead of the paper's near-silent random start
        start = start + torch.from_numpy(initial)
    if cfg.lower_bound is not None:
        start = start.clamp_min(cfg.lower_bound)
    if parametrisation is not None:  # bounded torch L-BFGS or waveform domain, nodes/_parametrised.py
        from ._parametrised import optimise

        x, history = optimise(objective, start.to(device), parametrisation, cfg, progress)
        return x.detach().to("cpu", torch.float32).numpy(), history
    run = _scipy_lbfgsb if cfg.optimizer == "lbfgs-b" else _torch_lbfgs
    x, history = run(objective, start.to(device), cfg, progress)
    return x.detach().to("cpu", torch.float32).numpy(), history


def _evaluate(objective: Objective, x: torch.Tensor):
    loss, lc, ls = objective(x)
    loss.backward()
    with torch.no_grad():
        corr = correlation(x, objective.content)
    return loss, (loss.item(), lc.item(), ls.item(), corr.item())


def _torch_lbfgs(objective, x0, cfg, progress):
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=cfg.iterations, max_eval=cfg.iterations * 25,
                            history_size=cfg.history_size, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-14)
    history = History()
    best_of_iteration: dict[int, tuple] = {}
    t0 = time.perf_counter()

    def closure():
        opt.zero_grad()
        loss, point = _evaluate(objective, x)
        history.evaluations += 1
        iteration = opt.state[x].get("n_iter", 0)
        # The line search may try several points per iteration; the one it accepts is the lowest.
        if iteration not in best_of_iteration or point[0] < best_of_iteration[iteration][0]:
            best_of_iteration[iteration] = point
        if progress:
            progress(iteration, cfg.iterations, point[0])
        return loss

    opt.step(closure)
    for iteration in sorted(best_of_iteration):
        history.add(iteration, best_of_iteration[iteration], t0)
    return x, history


def _scipy_lbfgsb(objective, x0, cfg, progress):
    from scipy.optimize import minimize

    shape, device = x0.shape, x0.device
    history = History()
    t0 = time.perf_counter()
    last = {}

    def fun(flat):
        x = torch.from_numpy(flat.astype(np.float32)).reshape(shape).to(device).requires_grad_(True)
        loss, point = _evaluate(objective, x)
        history.evaluations += 1
        last["point"] = point
        if history.evaluations == 1:
            history.add(0, point, t0)
        return point[0], x.grad.detach().to("cpu", torch.float64).numpy().ravel()

    def callback(intermediate_result):
        history.add(len(history.iteration), last["point"], t0)
        if progress:
            progress(len(history.iteration) - 1, cfg.iterations, intermediate_result.fun)

    bounds = None if cfg.lower_bound is None else [(cfg.lower_bound, None)] * x0.numel()
    result = minimize(fun, x0.to("cpu", torch.float64).numpy().ravel(), jac=True, method="L-BFGS-B", bounds=bounds,
                      callback=callback, options={"maxiter": cfg.iterations, "maxcor": cfg.history_size,
                                                  "ftol": 0.0, "gtol": 0.0, "maxfun": cfg.iterations * 25})
    return torch.from_numpy(result.x.astype(np.float32)).reshape(shape), history
