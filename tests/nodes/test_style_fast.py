"""The fast objective (hand-written GEMM gradient) computes the same function as the plain autograd one."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nodes._style import fast
from nodes._style.core import (FastObjective, PlainObjective, StyleConfig, converged, crossfade, layer_filters,
                               plan_segments, style_targets, transfer)


def config(n_filters=48, width=5, normalization="frames", iterations=5, **kw):
    return StyleConfig(n_filters, width, 0.1, 1.0, iterations, "lbfgs", 10, 1e-3, normalization, **kw)


def both(cfg, content, styles, x, style_weights=None):
    weights = layer_filters(content.shape[0], cfg, 3, "cpu")
    plain = PlainObjective(content.double(), [s.double() for s in styles], [w.double() for w in weights], cfg,
                           style_weights)
    layers = [fast.Layer.from_weights(w) for w in weights]
    quick = FastObjective(content, layers, style_targets(styles, layers, cfg, style_weights), cfg)
    return plain.loss_and_grad(x.double()), quick.loss_and_grad(x), quick


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


CASES = {
    # (bins, content frames, style frames, filters, extra widths, normalisation, styles)
    "F-form, style shorter": (65, 40, 33, 48, (), "frames", 1),
    "F-form, style longer": (65, 30, 90, 48, (), "frames", 1),
    "T'-form, style shorter": (65, 40, 33, 160, (), "frames", 1),
    "T'-form, style longer": (65, 30, 60, 160, (), "frames", 1),
    "T'-form, no normalisation": (65, 40, 33, 160, (), "none", 1),
    "several widths": (65, 40, 33, 160, (3, 9), "frames", 1),
    "two weighted styles": (65, 40, 33, 160, (), "frames", 2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fast_equals_plain_loss_and_gradient(name):
    bins, frames, style_frames, filters, widths, normalization, n_styles = CASES[name]
    g = torch.Generator().manual_seed(1)
    content = torch.rand(bins, frames, generator=g) * 3
    styles = [torch.rand(bins, style_frames + 7 * j, generator=g) * 3 for j in range(n_styles)]
    x = torch.rand(bins, frames, generator=g) * 3
    cfg = config(filters, normalization=normalization, extra_widths=widths)
    (lp, cp, sp, gp), (lf, cf, sf, gf), quick = both(cfg, content, styles, x, [1.0, 2.0][:n_styles])
    expected_form = filters == 160
    assert all(l.frame_products == expected_form for l in quick.layer_losses)
    for mine, ref in ((lf, lp), (cf, cp), (sf, sp)):
        assert rel(mine, ref) < 1e-4
    assert rel(gf, gp) < 1e-4
    assert gf.shape == x.shape and gf.dtype == torch.float32


@pytest.mark.parametrize("filters", [48, 160])
def test_time_chunks_give_the_same_result(monkeypatch, filters):
    g = torch.Generator().manual_seed(4)
    content, style, x = (torch.rand(65, n, generator=g) * 3 for n in (40, 45, 40))
    cfg = config(filters)
    _, whole, _ = both(cfg, content, [style], x)
    monkeypatch.setattr(fast, "CHUNK_FRAMES", 7)  # 36 output frames: five full chunks and a partial one
    _, chunked, _ = both(cfg, content, [style], x)
    for a, b in zip(whole, chunked):
        assert rel(a, b) < 1e-5


def test_fast_stays_accurate_near_a_style_match():
    """Where the style loss is ~1e-7 of the terms the T'-form subtracts, float64 products keep the loss exact."""
    g = torch.Generator().manual_seed(2)
    content = torch.rand(129, 60, generator=g) * 3
    x = content + 1e-3 * torch.randn(content.shape, generator=g)
    cfg = config(256)
    (lp, cp, sp, gp), (lf, cf, sf, gf), quick = both(cfg, content, [content], x)
    assert quick.layer_losses[0].frame_products and quick.layer_losses[0].exact_products == 1
    assert float(sp) < 1e-6 * quick.layer_losses[0].target.gram_sq_norm  # really near the match
    assert rel(lf, lp) < 1e-4 and rel(sf, sp) < 1e-3
    # The gradient is a difference of two products ~1e4 times larger than it: float32 keeps ~1e-3 of it.
    assert rel(gf, gp) < 5e-3


def test_transfer_runs_either_implementation():
    # Trajectories are compared only through the objective above: L-BFGS's first line search extrapolates
    # from loss differences near float32 resolution, so runs part after a few iterations.
    rng = np.random.default_rng(0)
    content = (rng.random((65, 40)) * 3).astype(np.float32)
    style = (rng.random((65, 50)) * 3).astype(np.float32)
    for impl in ("fast", "plain"):
        cfg = config(32, implementation=impl, iterations=4)
        x, history = transfer(content, style, cfg, device="cpu", seed=0)
        assert history.iteration == [0, 1, 2, 3, 4] and history.stopped == "iterations"
        assert history.loss[-1] < 0.5 * history.loss[0]
        assert history.evaluations >= 5 and x.shape == content.shape and x.dtype == np.float32
        assert history.segments["mode"] == "whole"


def test_tolerance_stops_early_and_records_why():
    assert converged([10.0, 9.999, 9.998], 1e-3, 2) and not converged([10.0, 9.0, 8.0], 1e-3, 2)
    rng = np.random.default_rng(0)
    content = (rng.random((65, 40)) * 3).astype(np.float32)
    cfg = config(32, iterations=200, tolerance=1e-2, tolerance_window=3)
    _, history = transfer(content, content, cfg, device="cpu", seed=0)
    assert history.stopped == "converged" and len(history.iteration) < 200
    window = history.loss[-4:]
    assert (window[0] - window[-1]) <= 1e-2 * abs(window[-1])


def test_long_content_is_split_into_crossfaded_segments():
    rng = np.random.default_rng(0)
    t, f = np.arange(300)[None, :], np.arange(65)[:, None]
    content = (1.5 + np.sin(t / 25.0 + f / 9.0) + 0.5 * np.cos(f / 5.0)).astype(np.float32)  # smooth in time
    style = (rng.random((65, 80)) * 3).astype(np.float32)
    cfg = config(32, iterations=20, memory_budget_mb=1024.6, segment_overlap=16)
    segments = plan_segments(300, 65, cfg, 32)
    assert len(segments) > 1 and segments[0][0] == 0 and segments[-1][1] == 300
    assert all(b[0] < a[1] for a, b in zip(segments, segments[1:]))  # they overlap
    out, history = transfer(content, style, cfg, device="cpu", seed=0)
    assert out.shape == content.shape and np.all(np.isfinite(out))
    assert history.segments["mode"] == "segments" and history.segments["ranges"] == segments
    assert len(history.segment_histories) == len(segments)
    whole_cfg = config(32, iterations=20)
    assert plan_segments(300, 65, whole_cfg, 32) == [(0, 300)]
    whole, _ = transfer(content, style, whole_cfg, device="cpu", seed=0)

    # Segmented ≈ whole: close to it, and nearly as good under the whole content's objective (each segment
    # matches the style's Gram on its own, which the whole objective does not ask for). Each segment keeps the
    # whole run's content/style balance (alpha scaled by frames): measured correlation 0.94 and 1.8x the whole's
    # loss; without the scaling 0.87 and 2.9x, the style overweighted 5x in each 58-frame segment.
    assert np.corrcoef(out.ravel(), whole.ravel())[0, 1] > 0.92
    weights = layer_filters(65, cfg, 0, "cpu")
    objective = PlainObjective(torch.from_numpy(content), [torch.from_numpy(style)], weights, cfg)
    loss = lambda x: float(objective(torch.from_numpy(x))[0])  # noqa: E731
    assert loss(out) < 2.3 * loss(whole)

    # No seam: at the middle of each overlap (where a hard cut would be) the frame-to-frame change, relative to
    # the change elsewhere, is as in the whole result (measured 1.03x; a hard cut there measured 1.14x).
    def at_cuts(x):
        jumps = np.abs(np.diff(x, axis=1)).mean(axis=0)
        cut = np.zeros(jumps.shape, bool)
        cut[[(a1 + b0) // 2 for (_, b0), (a1, _) in zip(segments, segments[1:])]] = True
        return jumps[cut].mean() / jumps[~cut].mean()
    assert at_cuts(out) < 1.1 * at_cuts(whole)


def test_autocorrelation_window_fits_every_segment():
    # The term's longest lag was fitted to the whole content (300 frames → 150), so a 58-frame segment divided
    # its autocorrelation by overlaps of zero and less: the loss was NaN at the first iteration.
    from nodes._style.terms import AutocorrelationTerm

    rng = np.random.default_rng(1)
    content = (rng.random((65, 300)) * 3).astype(np.float32)
    style = (rng.random((65, 300)) * 3).astype(np.float32)
    cfg = config(32, iterations=3, memory_budget_mb=1024.6, segment_overlap=16)
    segments = plan_segments(300, 65, cfg, 32)
    shortest = min(b - a for a, b in segments)
    term = AutocorrelationTerm(1.0, max_lag=250)
    out, history = transfer(content, style, cfg, device="cpu", seed=0, extra_terms=[term])
    assert history.segments["mode"] == "segments" and np.all(np.isfinite(out))
    assert 0 < term.lag <= shortest // 2  # half the shortest segment's feature frames
    for h in history.segment_histories:
        assert np.all(np.isfinite(h["loss"]))


def test_crossfade_is_exact_where_pieces_agree():
    full = np.arange(2 * 50, dtype=np.float32).reshape(2, 50)
    pieces = [(0, full[:, :30]), (20, full[:, 20:50])]
    np.testing.assert_allclose(crossfade(pieces, 50), full, rtol=1e-6)


@pytest.mark.parametrize("filters", [48, 160])
def test_bf16_precision_stays_close_to_fp32(filters):
    g = torch.Generator().manual_seed(5)
    content, style, x = (torch.rand(65, n, generator=g) * 3 for n in (40, 45, 40))
    style = style * 0.3  # far from the style: the Gram gradient may run in bf16 too
    cfg = config(filters, precision="bf16")
    (lp, cp, sp, gp), _, _ = both(cfg, content, [style], x)
    weights = layer_filters(65, cfg, 3, "cpu")
    layers = [fast.Layer.from_weights(w, "bf16") for w in weights]
    assert layers[0].wcat_low.dtype == torch.bfloat16
    low = FastObjective(content, layers, style_targets([style], layers, cfg), cfg)
    lf, cf, sf, gf = low.loss_and_grad(x)
    assert low.layer_losses[0].low_products == 1
    assert rel(lf, lp) < 1e-2 and rel(gf, gp) < 3e-2  # bf16 rounding of input and filters: ~0.3 % per product
    assert gf.dtype == torch.float32 and torch.as_tensor(lf).dtype == torch.float64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("filters", [48, 160])
def test_cuda_matches_cpu(filters):
    g = torch.Generator().manual_seed(6)
    content, style, x = (torch.rand(65, n, generator=g) * 3 for n in (40, 45, 40))
    cfg = config(filters)
    results = []
    for device in ("cpu", "cuda"):
        weights = layer_filters(65, cfg, 3, device)
        layers = [fast.Layer.from_weights(w) for w in weights]
        c, s = content.to(device), style.to(device)
        results.append(FastObjective(c, layers, style_targets([s], layers, cfg), cfg).loss_and_grad(x.to(device)))
    for a, b in zip(*results):
        assert rel(torch.as_tensor(b).cpu(), torch.as_tensor(a).cpu()) < 1e-4


# --- every option beyond the paper on the fast path: loss and gradient equal to the plain formulation ---

def _objectives(cfg, content, style, extra_terms=()):
    """The plain objective in float64 and the fast one in float32, the same extra terms bound to each."""
    from copy import deepcopy

    from nodes._style.core import TermBinding, features

    weights = layer_filters(content.shape[0], cfg, 3, "cpu")
    plain_terms, fast_terms = [deepcopy(t) for t in extra_terms], [deepcopy(t) for t in extra_terms]
    for term in plain_terms:
        term.bind(TermBinding(style.double(), weights[0].double(), features(content.double(), weights[0].double())))
    for term in fast_terms:
        term.bind(TermBinding(style, weights[0], features(content, weights[0])))
    plain = PlainObjective(content.double(), [style.double()], [w.double() for w in weights], cfg,
                           extra_terms=plain_terms)
    layers = [fast.Layer.from_weights(w) for w in weights]
    terms = [fast_terms] + [[] for _ in layers[1:]]
    quick = FastObjective(content, layers, style_targets([style], layers, cfg), cfg, terms)
    return plain, quick


def _at(objective, z, parametrisation):
    from nodes._style.core import _evaluate

    loss, point, grad = _evaluate(objective, z, parametrisation)
    return point[:3], grad


@pytest.mark.parametrize("filters", [48, 160])
def test_autocorrelation_term_on_the_fast_path(filters):
    from nodes._style.terms import AutocorrelationTerm

    g = torch.Generator().manual_seed(7)
    content, style, x = (torch.rand(65, n, generator=g) * 3 for n in (40, 45, 40))
    plain, quick = _objectives(config(filters), content, style, [AutocorrelationTerm(0.5, 8)])
    (pl, pc, ps), pg = _at(plain, x.double(), None)
    (fl, fc, fs), fg = _at(quick, x, None)
    no_term = _objectives(config(filters), content, style)[1].loss_and_grad(x)[0]
    assert float(fl) > float(no_term) * 1.01  # the term is really in the loss
    assert rel(fl, pl) < 1e-4 and rel(fc, pc) < 1e-4 and rel(fs, ps) < 1e-4
    assert rel(fg, pg) < 1e-4


@pytest.mark.parametrize("filters", [48, 160])
def test_bounded_parametrisation_on_the_fast_path(filters):
    from nodes._style.params import Bounded

    g = torch.Generator().manual_seed(8)
    content, style, x0 = (torch.rand(65, n, generator=g) * 3 for n in (40, 45, 40))
    bounded = Bounded(0.25)
    z = bounded.start(x0 - 0.5)
    plain, quick = _objectives(config(filters), content, style)
    (pl, _, _), pg = _at(plain, z.double(), bounded)
    (fl, _, _), fg = _at(quick, z, bounded)
    assert rel(fl, pl) < 1e-4 and rel(fg, pg) < 1e-4
    assert fg.dtype == torch.float32 and fg.shape == z.shape


@pytest.mark.parametrize("filters", [48, 160])
def test_waveform_domain_on_the_fast_path(filters):
    """The fast loss of log1p|STFT(w)|, its gradient chained back through the STFT to the samples."""
    from nodes._style.params import Waveform

    n_fft, hop, length = 128, 32, 1248
    frames = length // hop + 1
    g = torch.Generator().manual_seed(9)
    content, style = (torch.rand(n_fft // 2 + 1, n, generator=g) for n in (frames, frames + 5))
    wave = Waveform(n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann", length=length, init_scale=0.1,
                    seed=0)
    w = wave.start(content)
    plain, quick = _objectives(config(filters), content, style)
    (pl, _, _), pg = _at(plain, w.double(), wave)
    (fl, _, _), fg = _at(quick, w, wave)
    assert rel(fl, pl) < 1e-4 and rel(fg, pg) < 1e-4
    assert fg.shape == (length,) and float(fg.abs().max()) > 0


def test_content_init_and_every_option_run_fast_end_to_end():
    """transfer() with init from the content, widths, two styles, autocorrelation and bounds on the fast path:
    its first recorded loss (at the shared start) equals the plain implementation's."""
    from dataclasses import replace

    from nodes._style.params import Bounded
    from nodes._style.terms import AutocorrelationTerm

    rng = np.random.default_rng(3)
    content = (rng.random((65, 40)) * 3).astype(np.float32)
    styles = [(rng.random((65, 50 + 5 * j)) * 3).astype(np.float32) for j in range(2)]
    base = config(64, iterations=3, extra_widths=(3,))
    first = {}
    for impl in ("fast", "plain"):
        cfg = replace(base, implementation=impl)
        x, history = transfer(content, styles, cfg, device="cpu", seed=0, style_weights=[2.0, 1.0],
                              extra_terms=[AutocorrelationTerm(0.3, 6)], parametrisation=Bounded(0.0),
                              initial=content)
        assert x.min() >= 0.0 and history.loss[-1] < history.loss[0]
        first[impl] = history.loss[0]
    assert rel(first["fast"], first["plain"]) < 1e-4


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_in_the_waveform_domain():
    from nodes._style.params import Waveform

    n_fft, hop, length = 128, 32, 1248
    g = torch.Generator().manual_seed(10)
    content, style = (torch.rand(n_fft // 2 + 1, n, generator=g) for n in (length // hop + 1, length // hop + 6))
    results = []
    for device in ("cpu", "cuda"):
        wave = Waveform(n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann", length=length, init_scale=0.1,
                        seed=0)
        cfg = config(160)
        layers = [fast.Layer.from_weights(w) for w in layer_filters(content.shape[0], cfg, 3, device)]
        objective = FastObjective(content.to(device), layers, style_targets([style.to(device)], layers, cfg), cfg)
        results.append(_at(objective, wave.start(content.to(device)), wave))
    (cpu_point, cpu_grad), (gpu_point, gpu_grad) = results
    assert rel(gpu_point[0], cpu_point[0]) < 1e-4 and rel(gpu_grad.cpu(), cpu_grad) < 1e-3
