"""The paper's style transfer on spectrograms, in torch: one random conv layer over time,
content loss on its features, style loss on their Gram matrices, L-BFGS over the input.

Two implementations of one objective: ``plain`` (torch autograd, the formulation as written) and ``fast``
(hand-written gradient through a few large GEMMs, fast.py). Everything else — filters, style targets,
optimisers, segmenting of long content — is shared.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from audiostyle_engine.errors import ParameterError

from . import fast


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
    implementation: str = "fast"  # "fast" or "plain"
    precision: str = "fp32"  # "fp32" or "bf16" (fast only: conv GEMMs in bfloat16, all else float32)
    tolerance: float | None = None  # stop when the loss fell by less than this fraction over `tolerance_window`
    tolerance_window: int = 10  # iterations
    extra_widths: tuple = ()  # further conv layers of these widths, each with its own filters
    memory_budget_mb: float = 8192.0  # longer content is processed in overlapping segments
    segment_overlap: int = 64  # frames shared by neighbouring segments, crossfaded

    @property
    def widths(self) -> tuple:
        return (self.kernel_width,) + tuple(self.extra_widths)


@dataclass
class History:
    iteration: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    content_loss: list = field(default_factory=list)
    style_loss: list = field(default_factory=list)
    content_correlation: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    evaluations: int = 0
    stopped: str = "iterations"  # iterations | converged (tolerance) | no_progress
    segments: dict = field(default_factory=dict)  # whole or segmented processing, set by transfer()
    segment_histories: list = field(default_factory=list)

    def add(self, iteration, point, t0):
        self.iteration.append(iteration)
        for key, value in zip(("loss", "content_loss", "style_loss", "content_correlation"), point):
            getattr(self, key).append(float(value))
        self.seconds.append(time.perf_counter() - t0)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("iteration", "loss", "content_loss", "style_loss",
                                               "content_correlation", "seconds", "evaluations", "stopped")}


def glorot_filters(n_bins: int, cfg: StyleConfig, seed: int, device, width: int | None = None,
                   layer: int = 0) -> torch.Tensor:
    """[filters, bins, width] drawn from Glorot's truncated normal, built on the CPU from the seed
    so that every device gets the same filters. Layer 0 keeps the single-layer seed."""
    width = cfg.kernel_width if width is None else width
    fan_in = n_bins * width
    fan_out = cfg.n_filters * width
    std = math.sqrt(2.0 / (fan_in + fan_out))
    # Truncating at ±2σ shrinks the spread; dividing by this constant restores σ (as Keras does).
    raw_std = std / 0.87962566103423978
    weights = torch.empty(cfg.n_filters, n_bins, width)
    torch.nn.init.trunc_normal_(weights, 0.0, raw_std, -2 * raw_std, 2 * raw_std,
                                generator=torch.Generator().manual_seed(seed + 10007 * layer))
    return weights.to(device)


def layer_filters(n_bins: int, cfg: StyleConfig, seed: int, device) -> list[torch.Tensor]:
    return [glorot_filters(n_bins, cfg, seed, device, width, i) for i, width in enumerate(cfg.widths)]


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


def normalized_weights(style_weights, n: int) -> list[float]:
    w = [1.0] * n if style_weights is None else [float(v) for v in style_weights]
    total = sum(w)
    return [v / total for v in w]


class PlainObjective:
    """L(x) = Σ_layers α·Σ(F(x) − F(c))² + β·Σ(G(x) − Σ_j w_j·G(s_j))² (+ extra terms), by autograd.

    Several styles enter through their weighted mean Gram: Σ_j w_j‖G − G_j‖² differs from it only by a
    constant, so the optimisation is the same."""

    def __init__(self, content: torch.Tensor, styles, weights, cfg: StyleConfig, style_weights=None, terms=(),
                 extra_terms=()):
        styles = styles if isinstance(styles, (list, tuple)) else [styles]
        self.weights = weights if isinstance(weights, (list, tuple)) else [weights]
        self.cfg = cfg
        self.content = content
        self.terms = [list(t) for t in terms] if terms else [[] for _ in self.weights]
        mix = normalized_weights(style_weights, len(styles))
        with torch.no_grad():
            self.content_features = [features(content, w) for w in self.weights]
            self.style_grams = [sum(m * gram(features(s, w), cfg.gram_normalization) for m, s in zip(mix, styles))
                                for w in self.weights]
        # Terms of the options beyond the paper (nodes/_style/terms.py), bound to a TermBinding (transfer()
        # does that once for both implementations), then called with the main layer's features.
        self.main_weights = self.weights[0]
        self.extra_terms = list(extra_terms)
        for term in self.extra_terms:
            if not term.bound:
                term.bind(TermBinding(styles[0], self.main_weights, self.content_features[0]))

    def __call__(self, x: torch.Tensor):
        content_loss = style_loss = 0.0
        extra = 0.0
        for w, fc, gs, terms in zip(self.weights, self.content_features, self.style_grams, self.terms):
            f = features(x, w)
            content_loss = content_loss + ((f - fc) ** 2).sum()
            style_loss = style_loss + ((gram(f, self.cfg.gram_normalization) - gs) ** 2).sum()
            for term in terms:
                extra = extra + term.loss(f)
            if w is self.main_weights:
                for term in self.extra_terms:
                    extra = extra + term.loss(f)
        return self.cfg.alpha * content_loss + self.cfg.beta * style_loss + extra, content_loss, style_loss

    def loss_and_grad(self, x: torch.Tensor):
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            loss, lc, ls = self(leaf)
            loss.backward()
        return loss.detach(), lc.detach(), ls.detach(), leaf.grad


@dataclass(frozen=True)
class TermBinding:
    """What an extra loss term (terms.py) is computed against: the (first) style, the main layer's filters
    and the content's features in that layer ([filters, frames])."""

    style: torch.Tensor
    main_weights: torch.Tensor
    main_content_features: torch.Tensor


def style_targets(styles, layers: list[fast.Layer], cfg: StyleConfig, style_weights=None, cache=None,
                  keep_gram: bool = False) -> list[fast.StyleTarget]:
    """Per layer, the (weighted) style target of the fast objective; read from / written to ``cache``."""
    styles = styles if isinstance(styles, (list, tuple)) else [styles]
    mix = normalized_weights(style_weights, len(styles))
    targets = []
    for index, layer in enumerate(layers):
        per_style = []
        for style in styles:
            def compute(style=style, layer=layer):
                st = style.T.contiguous()
                feats = torch.empty(st.shape[0] - layer.width + 1, layer.n_filters, device=st.device)
                exact = fast.ConvGemm(fast.Layer(layer.width, layer.wcat), st.shape[1])
                return fast.style_target(exact.forward(st, feats), cfg.gram_normalization, keep_gram)
            if cache is not None:
                per_style.append(cache.get_or_compute(style, index, layer.width, keep_gram, compute))
            else:
                per_style.append(compute())
        targets.append(fast.combine_targets(per_style, mix, keep_gram))
    return targets


class FastObjective:
    """The same objective as PlainObjective with the hand-written gradient of fast.py."""

    def __init__(self, content: torch.Tensor, layers: list[fast.Layer], targets: list[fast.StyleTarget],
                 cfg: StyleConfig, terms=()):
        self.content = content
        content_t = content.T.contiguous()
        terms = [list(t) for t in terms] if terms else [[] for _ in layers]
        self.layer_losses = [fast.FastLayerLoss(layer, content.shape[0], content_t, target, cfg.alpha, cfg.beta,
                                                cfg.gram_normalization, layer_terms)
                             for layer, target, layer_terms in zip(layers, targets, terms)]

    def loss_and_grad(self, x: torch.Tensor):
        xt = x.detach().T.contiguous()
        grad_t = torch.zeros_like(xt)
        total = content = style = 0.0
        for layer_loss in self.layer_losses:
            t, c, s = layer_loss(xt, grad_t)
            total, content, style = total + t, content + c, style + s
        return total, content, style, grad_t.T.contiguous()

    def __call__(self, x: torch.Tensor):
        """(loss, content loss, style loss) as tensors, the loss differentiable in x by autograd: so a
        parametrisation x = g(z) (params.py: bounds, the waveform domain) chains its own gradient onto the
        hand-written one, as with PlainObjective."""
        return _FastLoss.apply(x, self)


class _FastLoss(torch.autograd.Function):
    """The fast objective as an autograd node: forward computes loss and gradient at once (that is what
    the hand-written GEMMs do), backward scales the stored gradient."""

    @staticmethod
    def forward(ctx, x, objective):
        total, content, style, grad = objective.loss_and_grad(x)
        ctx.save_for_backward(grad)
        out = [torch.as_tensor(v, dtype=torch.float64, device=x.device) for v in (total, content, style)]
        ctx.mark_non_differentiable(out[1], out[2])
        return tuple(out)

    @staticmethod
    def backward(ctx, grad_total, _content, _style):
        (grad,) = ctx.saved_tensors
        return (grad * grad_total).to(grad.dtype), None


class NonFiniteLoss(ParameterError):
    """The optimiser reached a point where the loss is not a finite number."""


def _check_finite(point, iteration: int) -> None:
    if not all(math.isfinite(v) for v in point[:3]):
        raise NonFiniteLoss(f"the style-transfer loss became {point[0]} at iteration {iteration} (the magnitudes or "
                            "the loss or its gradient overflowed); stopped instead of writing garbage — lower "
                            "alpha/beta, use precision: fp32, or set a lower_bound")


def _evaluate(objective, x: torch.Tensor, parametrisation=None):
    """(loss, (loss, content, style, correlation) as floats, gradient) at the optimiser's variable ``x``:
    the log-magnitude itself, or z with log-magnitude parametrisation.to_x(z)."""
    if parametrisation is None:
        loss, lc, ls, grad = objective.loss_and_grad(x)
        spec = x
    else:
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            spec = parametrisation.to_x(leaf)
            loss, lc, ls = objective(spec)
            loss.backward()
        loss, lc, ls, grad, spec = loss.detach(), lc.detach(), ls.detach(), leaf.grad, spec.detach()
    with torch.no_grad():
        corr = correlation(spec, objective.content)
        grad_sum = grad.sum(dtype=torch.float64)  # non-finite exactly when some gradient entry is
    values = torch.stack([torch.as_tensor(v, dtype=torch.float64, device=x.device)
                          for v in (loss, lc, ls, corr, grad_sum)])
    *point, grad_sum = values.tolist()  # one device→host transfer per evaluation
    if not math.isfinite(grad_sum):
        point[0] = grad_sum  # a non-finite gradient makes the next point non-finite: stop here already
    return loss, tuple(point), grad


def converged(losses: list, tolerance: float | None, window: int) -> bool:
    """Relative loss decrease over the last ``window`` iterations below ``tolerance``."""
    if tolerance is None or len(losses) <= window:
        return False
    old, new = losses[-1 - window], losses[-1]
    return (old - new) <= tolerance * abs(new)


def _torch_lbfgs(objective, x0, cfg, progress, parametrisation=None):
    """torch L-BFGS with strong-Wolfe line search on the run device, one iteration per step() so the
    tolerance can be checked between iterations; the start-of-step evaluation is served from a cache
    (it is at the point the line search just accepted), so stepping this way costs no extra evaluations.
    With a ``parametrisation`` it moves z (x0 is then z's start) and returns x = parametrisation.to_x(z)."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, max_eval=64, history_size=cfg.history_size,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14)
    history = History()
    recent: deque = deque(maxlen=4)
    t0 = time.perf_counter()

    def lookup():
        for xc, loss, point, grad in reversed(recent):
            if torch.equal(xc, x.detach()):
                return loss, point, grad
        loss, point, grad = _evaluate(objective, x.detach(), parametrisation)
        history.evaluations += 1
        _check_finite(point, len(history.iteration))
        recent.append((x.detach().clone(), loss, point, grad))
        return loss, point, grad

    def closure():
        with torch.no_grad():
            loss, _, grad = lookup()
        x.grad = grad
        return loss

    with torch.no_grad():
        history.add(0, lookup()[1], t0)
    for iteration in range(1, cfg.iterations + 1):
        before = x.detach().clone()
        opt.step(closure)
        with torch.no_grad():
            point = lookup()[1]
            if torch.equal(before, x.detach()):
                history.stopped = "no_progress"  # the line search found no lower point
                break
        history.add(iteration, point, t0)
        if progress:
            progress(iteration, cfg.iterations, point[0])
        if converged(history.loss, cfg.tolerance, cfg.tolerance_window):
            history.stopped = "converged"
            break
    if parametrisation is None:
        return x, history
    if hasattr(parametrisation, "finish"):
        parametrisation.finish(x.detach())
    with torch.no_grad():
        return parametrisation.to_x(x.detach()), history


def _scipy_lbfgsb(objective, x0, cfg, progress):
    from scipy.optimize import minimize

    shape, device = x0.shape, x0.device
    history = History()
    t0 = time.perf_counter()
    last = {}

    def fun(flat):
        x = torch.from_numpy(flat.astype(np.float32)).reshape(shape).to(device)
        _, point, grad = _evaluate(objective, x)
        history.evaluations += 1
        _check_finite(point, len(history.iteration))
        last["point"] = point
        if history.evaluations == 1:
            history.add(0, point, t0)
        return point[0], grad.detach().to("cpu", torch.float64).numpy().ravel()

    def callback(intermediate_result):
        history.add(len(history.iteration), last["point"], t0)
        if progress:
            progress(len(history.iteration) - 1, cfg.iterations, intermediate_result.fun)
        if converged(history.loss, cfg.tolerance, cfg.tolerance_window):
            history.stopped = "converged"
            raise StopIteration

    bounds = None if cfg.lower_bound is None else [(cfg.lower_bound, None)] * x0.numel()
    result = minimize(fun, x0.to("cpu", torch.float64).numpy().ravel(), jac=True, method="L-BFGS-B", bounds=bounds,
                      callback=callback, options={"maxiter": cfg.iterations, "maxcor": cfg.history_size,
                                                  "ftol": 0.0, "gtol": 0.0, "maxfun": cfg.iterations * 4})
    return torch.from_numpy(result.x.astype(np.float32)).reshape(shape), history


BASE_BYTES = 1 << 30


def estimate_bytes(n_frames: int, n_bins: int, cfg: StyleConfig, style_rank: int) -> int:
    """Peak memory of optimising ``n_frames`` of content, fast path (the plain one keeps about twice the
    feature maps for autograd)."""
    total = 0
    for width in cfg.widths:
        n_out = max(n_frames - width + 1, 1)
        f = cfg.n_filters
        total += width * n_bins * f * (4 + (2 if cfg.precision == "bf16" else 0))  # filters
        total += min(n_out, fast.CHUNK_FRAMES) * width * n_bins * 4  # unfold buffer
        per_frame_maps = 3 if cfg.implementation == "fast" else 6
        if n_out + style_rank < f:
            total += 4 * f * (per_frame_maps * n_out + style_rank) + 4 * n_out * (n_out + style_rank)
        else:
            total += 4 * f * per_frame_maps * n_out + 3 * 4 * f * f
    # L-BFGS history (2 vectors per pair) plus about a dozen spectrogram-sized temporaries
    total += 4 * n_frames * n_bins * (2 * cfg.history_size + 12)
    # torch's runtime and the style side's transients (measured: 1.0 GB peak RSS for 10 s at paper size)
    return total + BASE_BYTES


def plan_segments(n_frames: int, n_bins: int, cfg: StyleConfig, style_rank: int) -> list[tuple[int, int]]:
    """[(start, stop)] frame ranges: the whole content when it fits the memory budget, else the longest
    segments that fit, overlapping by ``segment_overlap`` frames."""
    budget = cfg.memory_budget_mb * 2 ** 20
    if estimate_bytes(n_frames, n_bins, cfg, style_rank) <= budget:
        return [(0, n_frames)]
    overlap = max(cfg.segment_overlap, max(cfg.widths))
    lo, hi = 2 * overlap + max(cfg.widths), n_frames
    while lo < hi:  # the longest segment length that fits
        mid = (lo + hi + 1) // 2
        if estimate_bytes(mid, n_bins, cfg, style_rank) <= budget:
            lo = mid
        else:
            hi = mid - 1
    length = lo
    step = length - overlap
    starts = list(range(0, max(n_frames - overlap, 1), step))
    segments = [(s, min(s + length, n_frames)) for s in starts]
    if segments[-1][1] < n_frames:
        segments.append((n_frames - length, n_frames))
    return segments


def crossfade(pieces: list[tuple[int, np.ndarray]], n_frames: int) -> np.ndarray:
    """Overlap-add of [bins, frames] pieces at their start frames with linear ramps over the overlaps."""
    out = np.zeros((pieces[0][1].shape[0], n_frames), np.float64)
    weight = np.zeros(n_frames, np.float64)
    for index, (start, piece) in enumerate(pieces):
        n = piece.shape[1]
        ramp = np.ones(n)
        if index > 0:
            prev_stop = pieces[index - 1][0] + pieces[index - 1][1].shape[1]
            fade = max(prev_stop - start, 0)
            ramp[:fade] = np.linspace(0, 1, fade + 2)[1:-1]
        if index + 1 < len(pieces):
            fade = max(start + n - pieces[index + 1][0], 0)
            ramp[n - fade:] = np.minimum(ramp[n - fade:], np.linspace(1, 0, fade + 2)[1:-1])
        out[:, start:start + n] += piece * ramp
        weight[start:start + n] += ramp
    return (out / np.maximum(weight, 1e-12)).astype(np.float32)


def transfer(content: np.ndarray, style, cfg: StyleConfig, *, device: str, seed: int, progress=None,
             style_weights=None, cache=None, terms=(), extra_terms=(), parametrisation=None,
             initial: np.ndarray | None = None) -> tuple[np.ndarray, History]:
    """Optimise a [bins, frames] log-magnitude so its features match ``content`` and its Grams ``style``
    (one [bins, frames] array, or several mixed by ``style_weights``). ``history.segments`` says whether the
    content was processed whole or in segments.

    Every option runs on either implementation: ``extra_terms`` (terms.py) join the main layer's loss, and a
    ``parametrisation`` (params.py: bounds on torch L-BFGS, the waveform domain) chains its gradient onto the
    objective's by autograd; a parametrised run processes the content whole."""
    n_bins, n_frames = content.shape
    styles = [style] if isinstance(style, np.ndarray) else list(style)
    weights = layer_filters(n_bins, cfg, seed, device)
    style_t = [torch.from_numpy(np.ascontiguousarray(s)).to(device) for s in styles]
    start = torch.randn(content.shape, generator=torch.Generator().manual_seed(seed + 1)) * cfg.init_scale
    if initial is not None:  # e.g. the content itself instead of the paper's near-silent random start
        start = start + torch.from_numpy(np.ascontiguousarray(initial))
    if cfg.lower_bound is not None and parametrisation is None:  # L-BFGS-B's box; Bounded makes its own start
        start = start.clamp_min(cfg.lower_bound)
    content_dev = torch.from_numpy(np.ascontiguousarray(content)).to(device)
    extra_terms = list(extra_terms)

    def bind_terms(segments):
        # Bound against the shortest piece the optimiser will see, so that a term's window (the
        # autocorrelation's longest lag) fits every segment, not only the whole content.
        if not extra_terms:
            return  # nothing to bind: skip the content's features (a whole conv layer's GEMM)
        a, b = min(segments, key=lambda ab: ab[1] - ab[0])
        with torch.no_grad():
            binding = TermBinding(style_t[0], weights[0], features(content_dev[:, a:b], weights[0]))
        for term in extra_terms:
            term.bind(binding)

    def piece_cfg(piece):
        # The content loss sums over frames while the Gram is a per-frame mean, so a segment of L of the N
        # frames would weigh content L/N as much as the whole run does: scale alpha back to the whole's balance.
        frames = piece.shape[1]
        return cfg if frames == n_frames else replace(cfg, alpha=cfg.alpha * n_frames / frames)

    if cfg.implementation == "plain":
        def build(piece):
            return PlainObjective(piece, style_t, weights, piece_cfg(piece), style_weights, terms, extra_terms)
        rank = cfg.n_filters
    else:
        layers = [fast.Layer.from_weights(w, cfg.precision) for w in weights]
        targets = style_targets(style_t, layers, cfg, style_weights, cache)
        rank = max(t.rank for t in targets)
        layer_terms = [list(t) for t in terms] if terms else [[] for _ in layers]
        layer_terms[0] = layer_terms[0] + extra_terms  # the extra terms see the main layer's features

        def build(piece):
            return FastObjective(piece, layers, targets, piece_cfg(piece), layer_terms)

    if parametrisation is not None:
        bind_terms([(0, n_frames)])
        objective = build(content_dev)
        z0 = parametrisation.start(start.to(device))
        x, history = _torch_lbfgs(objective, z0, cfg, progress, parametrisation)
        history.segments = {"mode": "whole", "ranges": [(0, n_frames)], "overlap_frames": 0}
        history.segment_histories = [history.as_dict()]
        return x.detach().to("cpu", torch.float32).numpy(), history

    segments = plan_segments(n_frames, n_bins, cfg, rank)
    bind_terms(segments)
    run = _scipy_lbfgsb if cfg.optimizer == "lbfgs-b" else _torch_lbfgs
    pieces, histories = [], []
    for index, (a, b) in enumerate(segments):
        def seg_progress(i, n, loss, index=index):
            if progress:
                progress(index * n + i, n * len(segments), loss)
        objective = build(content_dev[:, a:b].contiguous())
        x, history = run(objective, start[:, a:b].contiguous().to(device), cfg, seg_progress)
        del objective
        pieces.append((a, x.detach().to("cpu", torch.float32).numpy()))
        histories.append(history)
    history = histories[0]
    history.segments = {"mode": "whole" if len(segments) == 1 else "segments", "ranges": segments,
                        "overlap_frames": 0 if len(segments) == 1 else max(cfg.segment_overlap, max(cfg.widths)),
                        "estimated_mb": estimate_bytes(segments[0][1] - segments[0][0], n_bins, cfg, rank) / 2 ** 20}
    history.segment_histories = [h.as_dict() for h in histories]
    out = pieces[0][1] if len(pieces) == 1 else crossfade(pieces, n_frames)
    return out, history
