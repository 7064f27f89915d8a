"""The style-transfer loss and its gradient written out by hand, as a few large GEMMs into reused buffers.

Same function as the plain autograd formulation in core.py (a test holds them equal), cheaper:
- time-major layout: with the spectrogram stored [frames, bins], the conv's unfolded input is a strided view
  of it (row t = frames t..t+K-1 laid end to end), so the conv is one GEMM [T', K·C]·[K·C, F] and its
  backward one GEMM plus K cheap shifted adds (the "fold");
- the Gram term through T'×T' products when the content is shorter than the filter count:
  ‖ΦᵀΦ/a − RᵀR‖² = ‖ΦΦᵀ‖²/a² − 2‖ΦRᵀ‖²/a + ‖RRᵀ‖², with R the style features scaled so that RᵀR is the
  style Gram; both products come out of one GEMM Φ·[Φ; R]ᵀ and the gradient out of one more;
- every large temporary lives in a buffer kept across evaluations, and time is processed in chunks so
  long content needs no unfold of its whole length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# Frames per conv GEMM: large enough to run near the GEMM peak, small enough that the unfold buffer
# ([chunk, K·C], 185 MB at the paper's size) stays small next to the features of long content.
CHUNK_FRAMES = 4096
# The expanded Gram loss from float32 products is off by about this fraction of the terms it subtracts
# (measured 8e-10 at the paper's size); where that exceeds LOSS_PRECISION of the total loss (float32's own
# resolution, what L-BFGS's line search compares), the products are redone in float64.
PRODUCT_ERROR = 1e-9
LOSS_PRECISION = 1e-7
# precision bf16: the Gram gradient (ΦΦᵀ/a·Φ − ΦRᵀ·R) runs in bf16 while its relative error, about bf16's
# rounding times ‖G‖/‖G − Gs‖, stays below BF16_GRADIENT_ERROR; nearer the style it runs in float32.
BF16_ERROR = 2.0 ** -8
BF16_GRADIENT_ERROR = 0.02


@dataclass
class Layer:
    """One random conv layer in GEMM form: wcat[k·C + c, f] = W[f, c, k]."""

    width: int
    wcat: torch.Tensor  # [K·C, F] float32
    wcat_low: torch.Tensor | None = None  # the same in bfloat16 when precision is bf16

    @classmethod
    def from_weights(cls, weights: torch.Tensor, precision: str = "fp32") -> "Layer":
        n_filters, n_bins, width = weights.shape
        wcat = weights.permute(2, 1, 0).reshape(width * n_bins, n_filters).contiguous()
        return cls(width, wcat, wcat.to(torch.bfloat16) if precision == "bf16" else None)

    @property
    def n_filters(self) -> int:
        return self.wcat.shape[1]


class ConvGemm:
    """ReLU(conv) forward and its input gradient for one layer, on time-major spectrograms.

    One buffer serves both directions: [chunk + 2(K−1), K·C] whose first and last K−1 rows stay zero.
    Forward unfolds the input into its middle rows; backward writes the GEMM Φ'·Wcatᵀ there, and the fold
    ∂x[s] = Σ_k ∂U[s−k, k] becomes one strided-view sum (rows s..s+K−1, block K−1−j of row s+j)."""

    def __init__(self, layer: Layer, n_bins: int):
        self.layer = layer
        self.n_bins = n_bins
        self._pad: torch.Tensor | None = None

    def _rows(self, rows: int, dtype, device) -> torch.Tensor:
        margin, cols = self.layer.width - 1, self.layer.width * self.n_bins
        if self._pad is None or self._pad.shape[0] < rows + 2 * margin or self._pad.dtype != dtype:
            self._pad = torch.zeros(rows + 2 * margin, cols, dtype=dtype, device=device)
        return self._pad[margin:margin + rows]

    def _unfolded(self, xt: torch.Tensor, start: int, rows: int, dtype) -> torch.Tensor:
        cols = self.layer.width * self.n_bins
        view = xt.as_strided((rows, cols), (self.n_bins, 1), xt.storage_offset() + start * self.n_bins)
        return self._rows(rows, dtype, xt.device).copy_(view)

    def _dtype(self, default):
        return torch.bfloat16 if self.layer.wcat_low is not None else default

    def forward(self, xt: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """xt [T, C] contiguous → out [T', F] = ReLU(conv); out may be a row block of a larger buffer."""
        n_out = xt.shape[0] - self.layer.width + 1
        low = self.layer.wcat_low is not None
        for start in range(0, n_out, CHUNK_FRAMES):
            rows = min(CHUNK_FRAMES, n_out - start)
            u = self._unfolded(xt, start, rows, self._dtype(xt.dtype))
            if low:
                out[start:start + rows].copy_(u @ self.layer.wcat_low)
            else:
                torch.mm(u, self.layer.wcat, out=out[start:start + rows])
        return out.relu_()

    def backward(self, grad_features: torch.Tensor, grad_xt: torch.Tensor) -> None:
        """Add the input gradient of features [T', F] into grad_xt [T, C] (a GEMM, then the fold)."""
        n_out, width, n_bins = grad_features.shape[0], self.layer.width, self.n_bins
        cols = width * n_bins
        low = self.layer.wcat_low is not None
        for start in range(0, n_out, CHUNK_FRAMES):
            rows = min(CHUNK_FRAMES, n_out - start)
            block = grad_features[start:start + rows]
            du = self._rows(rows, self._dtype(block.dtype), block.device)
            if low:
                torch.mm(block.to(torch.bfloat16), self.layer.wcat_low.T, out=du)
            else:
                torch.mm(block, self.layer.wcat.T, out=du)
            shifted = self._pad.as_strided((rows + width - 1, width, n_bins), (cols, cols - n_bins, 1),
                                           self._pad.storage_offset() + (width - 1) * n_bins)
            grad_xt[start:start + rows + width - 1] += shifted.sum(1, dtype=grad_xt.dtype)
            du.zero_() if start + rows < n_out else None  # the next chunk's margins read these rows as zero


@dataclass
class StyleTarget:
    """What the loss needs of the style, for one layer: its Gram [F, F] and/or a factor R [r, F] with
    RᵀR = Gram (the frame-normalised style features, when the style has fewer frames than filters)."""

    gram: torch.Tensor | None
    factor: torch.Tensor | None
    gram_sq_norm: float  # ‖Gram‖², the constant of the expanded loss

    @property
    def rank(self) -> int:
        return self.factor.shape[0] if self.factor is not None else self.gram.shape[0]


def style_target(features_t: torch.Tensor, normalization: str, keep_gram: bool) -> StyleTarget:
    """From time-major style features [Ts', F]."""
    scale = 1.0 / math.sqrt(features_t.shape[0]) if normalization == "frames" else 1.0
    n_frames, n_filters = features_t.shape
    factor = features_t * scale if n_frames < n_filters else None
    gram = None
    if keep_gram or factor is None:
        gram = (features_t.T @ features_t) * (scale * scale)
    if factor is not None:
        small = factor.double() @ factor.double().T  # ‖RᵀR‖ = ‖RRᵀ‖, cheaper when r < F
        sq = float(small.square().sum())
    else:
        sq = float(gram.double().square().sum())
    return StyleTarget(gram, factor, sq)


def use_frame_products(n_frames_out: int, target: StyleTarget, n_filters: int) -> bool:
    """T'-form costs 4·F·T'·(T'+r), the F×F form 4·T'·F²."""
    return target.factor is not None and n_frames_out + target.rank < n_filters


class FeatureTerm:
    """A loss term on one layer's features, pluggable into both objectives.

    ``loss(features)`` takes features as [F, T'] (the plain layout) and returns a differentiable scalar;
    the fast objective gets its gradient by autograd on the features alone, which is cheap next to the conv.
    Subclasses may override ``loss_and_grad`` with a hand-written gradient.
    """

    def loss(self, features: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def loss_and_grad(self, features_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            leaf = features_t.detach().requires_grad_(True)
            value = self.loss(leaf.T)
            (grad,) = torch.autograd.grad(value, leaf)
        return value.detach(), grad


def _sq_norm(t: torch.Tensor) -> torch.Tensor:
    """Σt² accumulated in float64: the expanded Gram loss is a difference of large sums, and a float32
    reduction over millions of terms is off by ~1e-4."""
    return torch.linalg.vector_norm(t, dtype=torch.float64) ** 2


class FastLayerLoss:
    """α‖Φ − Φc‖² + β‖ΦᵀΦ/a − Gs‖² (+ extra terms) for one layer, with its gradient w.r.t. the input."""

    def __init__(self, layer: Layer, n_bins: int, content_t: torch.Tensor, target: StyleTarget,
                 alpha: float, beta: float, normalization: str, terms=()):
        self.conv = ConvGemm(layer, n_bins)
        self.alpha, self.beta = alpha, beta
        self.terms = list(terms)
        self.target = target
        n_out = content_t.shape[0] - layer.width + 1
        n_filters = layer.n_filters
        self.a = float(n_out) if normalization == "frames" else 1.0
        self.frame_products = use_frame_products(n_out, target, n_filters)
        if not self.frame_products and target.gram is None:
            target.gram = target.factor.T @ target.factor  # long content: the F×F form is the cheaper one
        dev = content_t.device
        rows = n_out + (target.rank if self.frame_products else 0)
        # Φ and R stacked, so Φ·[Φ; R]ᵀ = [ΦΦᵀ, ΦRᵀ] is one GEMM and its gradient one more.
        self.stacked = torch.empty(rows, n_filters, device=dev)
        if self.frame_products:
            self.stacked[n_out:] = target.factor
        self.features = self.stacked[:n_out]
        exact = ConvGemm(Layer(layer.width, layer.wcat), n_bins)  # the content target is always fp32
        self.content_features = exact.forward(content_t, torch.empty(n_out, n_filters, device=dev))
        self.grad_features = torch.empty(n_out, n_filters, device=dev)
        self.products = torch.empty(n_out, rows, device=dev) if self.frame_products else None
        self.gram_buf = None if self.frame_products else torch.empty(n_filters, n_filters, device=dev)
        self._stacked_double = None
        self.exact_products = 0  # evaluations that needed the float64 products
        self.low_precision = layer.wcat_low is not None
        self._stacked_bf16 = None
        self.low_products = 0  # evaluations whose Gram gradient ran in bf16

    def __call__(self, xt: torch.Tensor, grad_xt: torch.Tensor):
        phi = self.conv.forward(xt, self.features)
        d = torch.sub(phi, self.content_features, out=self.grad_features)
        content = _sq_norm(d)
        d.mul_(2.0 * self.alpha)
        style = self._style(phi, d, content)
        total = self.alpha * content + self.beta * style
        for term in self.terms:
            value, grad = term.loss_and_grad(phi)
            total = total + value.double()
            d.add_(grad)
        d.mul_(phi > 0)  # ReLU: Φ > 0 exactly where the pre-activation is
        self.conv.backward(d, grad_xt)
        return total, content, style

    def _expanded(self, q: torch.Tensor, n_out: int):
        """‖ΦᵀΦ/a − RᵀR‖² from q = Φ·[Φ; R]ᵀ, and the size of the terms it subtracts."""
        own, cross = _sq_norm(q[:, :n_out]) / (self.a * self.a), _sq_norm(q[:, n_out:]) / self.a
        return own - 2.0 * cross + self.target.gram_sq_norm, float(own) + self.target.gram_sq_norm

    def _stacked_low(self) -> torch.Tensor:
        if self._stacked_bf16 is None:
            self._stacked_bf16 = self.stacked.to(torch.bfloat16)
        self._stacked_bf16[:self.features.shape[0]].copy_(self.features)
        return self._stacked_bf16

    def _stacked64(self) -> torch.Tensor:
        if self._stacked_double is None:
            self._stacked_double = self.stacked.double()
        n_out = self.features.shape[0]
        self._stacked_double[:n_out].copy_(self.features)
        return self._stacked_double

    def _style(self, phi: torch.Tensor, grad: torch.Tensor, content) -> torch.Tensor:
        n_out, a = phi.shape[0], self.a
        if self.frame_products:
            q = torch.mm(phi, self.stacked.T, out=self.products)
            value, scale = self._expanded(q, n_out)
            if PRODUCT_ERROR * scale * self.beta > LOSS_PRECISION * float(self.alpha * content + self.beta * value):
                # Near a style match the expansion subtracts sums far larger than the result, more than float32
                # products resolve at the loss's precision: redo this one GEMM in float64.
                self.exact_products += 1
                q64 = phi.double() @ self._stacked64().T
                value, _ = self._expanded(q64, n_out)
                q.copy_(q64)
            own, cross = q[:, :n_out], q[:, n_out:]
            own.mul_(1.0 / a)
            cross.neg_()
            # ∂/∂Φ = (4/a)·(ΦΦᵀ/a·Φ − ΦRᵀ·R) = (4/a)·[ΦΦᵀ/a, −ΦRᵀ]·[Φ; R]
            if self.low_precision and BF16_ERROR * math.sqrt(scale / max(float(value), 1e-300)) < BF16_GRADIENT_ERROR:
                # bf16 is fine while the two products are not much larger than their difference
                self.low_products += 1
                grad.add_(q.to(torch.bfloat16) @ self._stacked_low(), alpha=4.0 * self.beta / a)
            else:
                grad.addmm_(q, self.stacked, alpha=4.0 * self.beta / a)
            return value
        e = torch.mm(phi.T, phi, out=self.gram_buf)
        e.mul_(1.0 / a).sub_(self.target.gram)
        value = _sq_norm(e)
        if self.low_precision:  # E is formed in float32, so its product has no cancellation to fear
            self.low_products += 1
            grad.add_(phi.to(torch.bfloat16) @ e.to(torch.bfloat16), alpha=4.0 * self.beta / a)
        else:
            grad.addmm_(phi, e, alpha=4.0 * self.beta / a)  # E is symmetric
        return value


def combine_targets(targets: list[StyleTarget], mix: list[float], keep_gram: bool) -> StyleTarget:
    """The target of Σ_j w_j‖G − G_j‖²: the weighted mean Gram, whose factor is the stacked √w_j·R_j."""
    if len(targets) == 1:
        return targets[0]
    n_filters = (targets[0].factor if targets[0].factor is not None else targets[0].gram).shape[-1]
    factor = None
    if all(t.factor is not None for t in targets) and sum(t.rank for t in targets) < n_filters:
        factor = torch.cat([t.factor * math.sqrt(m) for t, m in zip(targets, mix)])
    gram = None
    if keep_gram or factor is None:
        gram = sum(m * (t.gram if t.gram is not None else t.factor.T @ t.factor) for t, m in zip(targets, mix))
    if factor is not None:
        sq = float((factor.double() @ factor.double().T).square().sum())
    else:
        sq = float(gram.double().square().sum())
    return StyleTarget(gram, factor, sq)
