"""style_transfer on tiny configurations: the loss falls, content survives, the mechanics match the paper."""
from __future__ import annotations

import math

import numpy as np
import pytest

from audiostyle_engine.errors import InputFileError, ParameterError
from audiostyle_engine.payloads import Audio
from nodes import Stft, StyleTransfer
from nodes._style.core import StyleConfig, glorot_filters
from tests.helpers.audio import SR, chirp, noise, sine
from tests.helpers.nodes import run_node

TINY = dict(n_filters=512, kernel_width=5, iterations=30)


def spectrogram(x, source=None):
    return run_node(Stft, {"audio": Audio(x, SR, source=source)}, n_fft=256, hop_length=128)[0]["spectrogram"]


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(7)
    content = np.concatenate([sine(hz=440, seconds=0.5), sine(hz=660, seconds=0.5), chirp(seconds=0.5)], axis=1)
    # Style: noise bursts on a beat, a texture unlike the tonal content.
    style = noise(rng, seconds=2.0, amp=0.4)
    style *= (np.arange(style.shape[1]) % (SR // 4) < SR // 16).astype(np.float32)
    return spectrogram(content, "content.wav"), spectrogram(style, "style.wav")


def corr(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_loss_falls_and_output_keeps_content(pair):
    content, style = pair
    out, records, _ = run_node(StyleTransfer, {"content": content, "style": style}, **TINY)
    styled = out["spectrogram"]
    assert styled.magnitude.shape == content.magnitude.shape and styled.phase is None
    h = records["history"]
    assert h["iteration"][0] == 0 and h["iteration"][-1] == TINY["iterations"]
    assert h["loss"][-1] < h["loss"][0] / 2  # the full-size example falls >4x; see tests/test_bundled_graphs.py
    assert all(np.isfinite(h["loss"]))
    assert np.allclose(np.array(h["loss"]), 0.1 * np.array(h["content_loss"]) + np.array(h["style_loss"]), rtol=1e-4)
    n = content.frames
    c_out = corr(styled.magnitude[0], content.magnitude[0])
    assert c_out > corr(styled.magnitude[0], style.magnitude[0][:, :n])
    assert c_out == pytest.approx(h["content_correlation"][-1], abs=1e-3)
    assert h["content_correlation"][-1] > h["content_correlation"][0]


def test_style_moves_output_towards_style_statistics(pair):
    content, style = pair
    only_content = run_node(StyleTransfer, {"content": content, "style": style}, **{**TINY, "beta": 0.0})[0]
    styled = run_node(StyleTransfer, {"content": content, "style": style}, **TINY)[0]
    # Mean spectral envelope: with a strong style weight it lies closer to the style's.
    env = lambda s: s.magnitude[0].mean(axis=1)
    d_plain = np.linalg.norm(env(only_content["spectrogram"]) - env(style))
    d_styled = np.linalg.norm(env(styled["spectrogram"]) - env(style))
    assert d_styled < 0.7 * d_plain


def test_seed_makes_runs_reproducible(pair):
    content, style = pair
    cfg = {**TINY, "iterations": 3}
    a = run_node(StyleTransfer, {"content": content, "style": style}, seed=3, **cfg)[0]["spectrogram"].magnitude
    b = run_node(StyleTransfer, {"content": content, "style": style}, seed=3, **cfg)[0]["spectrogram"].magnitude
    c = run_node(StyleTransfer, {"content": content, "style": style}, seed=4, **cfg)[0]["spectrogram"].magnitude
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_glorot_normal_filters():
    cfg = StyleConfig(n_filters=512, kernel_width=11, alpha=0.1, beta=1.0, iterations=1, optimizer="lbfgs",
                      history_size=10, init_scale=1e-3, gram_normalization="frames")
    w = glorot_filters(257, cfg, seed=0, device="cpu")
    assert w.shape == (512, 257, 11)
    std = math.sqrt(2.0 / (257 * 11 + 512 * 11))
    assert float(w.std()) == pytest.approx(std, rel=0.02)
    assert float(w.abs().max()) <= 2 * std / 0.87962566103423978 + 1e-7  # truncated at two (raw) sigmas


def test_scipy_lbfgsb_respects_lower_bound(pair):
    content, style = pair
    out, records, _ = run_node(StyleTransfer, {"content": content, "style": style},
                               optimizer="lbfgs-b", lower_bound=0.0, **{**TINY, "iterations": 15})
    assert float(out["spectrogram"].magnitude.min()) >= 0.0
    assert records["negative_bins_fraction"] == 0.0
    h = records["history"]
    assert h["iteration"][-1] <= 15 and h["loss"][-1] < h["loss"][0]


def test_unbounded_paper_method_leaves_negative_bins_reported(pair):
    content, style = pair
    _, records, _ = run_node(StyleTransfer, {"content": content, "style": style}, **{**TINY, "iterations": 10})
    assert 0.0 <= records["negative_bins_fraction"] < 1.0


def test_short_and_silent_inputs_are_refused(pair):
    content, style = pair
    short = spectrogram(sine(seconds=0.1), "tiny.wav")
    with pytest.raises(InputFileError, match="content 'tiny.wav' is 0.10 s long; style transfer needs at least 0.50 s"):
        run_node(StyleTransfer, {"content": short, "style": style}, **TINY)
    silent = spectrogram(np.zeros((1, SR), np.float32), "quiet.wav")
    with pytest.raises(InputFileError, match="style 'quiet.wav' is silent"):
        run_node(StyleTransfer, {"content": content, "style": silent}, **TINY)
    other_fft = run_node(Stft, {"audio": Audio(sine(seconds=1.0), SR)}, n_fft=1024)[0]["spectrogram"]
    with pytest.raises(ParameterError, match="n_fft 256.*n_fft 1024"):
        run_node(StyleTransfer, {"content": content, "style": other_fft}, **TINY)


def test_stereo_content_is_styled_per_channel(pair):
    _, style = pair
    stereo = np.vstack([sine(hz=440, seconds=1.0)[0], chirp(seconds=1.0)[0]])
    content = spectrogram(stereo)
    out, records, _ = run_node(StyleTransfer, {"content": content, "style": style}, **{**TINY, "iterations": 10})
    mag = out["spectrogram"].magnitude
    assert mag.shape[0] == 2 and len(records["channel_histories"]) == 2
    assert corr(mag[0], content.magnitude[0]) > corr(mag[0], content.magnitude[1])
    assert corr(mag[1], content.magnitude[1]) > corr(mag[1], content.magnitude[0])


@pytest.mark.gpu
def test_cuda_matches_cpu(pair):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    content, style = pair
    cfg = {**TINY, "iterations": 5}
    cpu = run_node(StyleTransfer, {"content": content, "style": style}, device="cpu", **cfg)[1]["history"]
    gpu = run_node(StyleTransfer, {"content": content, "style": style}, device="cuda", **cfg)[1]["history"]
    assert gpu["loss"][0] == pytest.approx(cpu["loss"][0], rel=1e-4)
    assert gpu["loss"][-1] == pytest.approx(cpu["loss"][-1], rel=1e-2)
