"""Mechanics of the style-transfer options beyond the paper (not their quality: bench/quality.py measures that)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle_engine.graph import GraphValidationError
from audiostyle_engine.run import run_graph
from tests.helpers.audio import SR, chirp, noise, read_audio
from nodes._style.params import Bounded, Waveform
from nodes._style.core import StyleConfig, features, glorot_filters, transfer
from nodes._style.terms import AutocorrelationTerm, autocorrelation

TINY = StyleConfig(n_filters=8, kernel_width=5, alpha=0.1, beta=1.0, iterations=4, optimizer="lbfgs", history_size=5,
                   init_scale=1e-3, gram_normalization="frames")


def _spectra(rng, bins=33, frames=40):
    content = np.abs(rng.standard_normal((bins, frames))).astype(np.float32)
    style = np.abs(rng.standard_normal((bins, frames + 7))).astype(np.float32) * 2
    return content, style


def test_autocorrelation_matches_direct_sum(rng):
    f = torch.from_numpy(rng.standard_normal((3, 20)))
    got = autocorrelation(f, 6).numpy()
    x = f.numpy()
    want = np.stack([[np.dot(row[:20 - lag], row[lag:]) / (20 - lag) for lag in range(7)] for row in x])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_autocorrelation_term_vanishes_at_the_style_and_pulls_elsewhere(rng):
    content, style = _spectra(rng)
    from nodes._style.core import PlainObjective

    weights = glorot_filters(content.shape[0], TINY, 0, "cpu")
    term = AutocorrelationTerm(1.0, max_lag=8)
    PlainObjective(torch.from_numpy(content), torch.from_numpy(style), weights, TINY, extra_terms=[term])
    s = torch.from_numpy(style)
    assert term.lag == 8
    assert float(term(s, features(s, weights))) == pytest.approx(0.0, abs=1e-9)
    x = torch.from_numpy(content).requires_grad_(True)
    loss = term(x, features(x, weights))
    loss.backward()
    assert loss.item() > 0 and float(x.grad.abs().sum()) > 0


def test_autocorrelation_lag_is_capped_by_the_shorter_clip(rng):
    content, style = _spectra(rng, frames=30)
    from nodes._style.core import PlainObjective

    term = AutocorrelationTerm(1.0, max_lag=1000)
    PlainObjective(torch.from_numpy(content), torch.from_numpy(style), glorot_filters(33, TINY, 0, "cpu"), TINY,
              extra_terms=[term])
    assert term.lag == (30 - TINY.kernel_width + 1) // 2
    assert tuple(term.target.shape) == (TINY.n_filters, term.lag + 1)


@pytest.mark.parametrize("width", [1, 3, 17])
def test_extra_width_layers_have_the_expected_shapes(width):
    from dataclasses import replace

    from nodes._style.core import layer_filters

    cfg = replace(TINY, extra_widths=(width,))
    main, extra = layer_filters(33, cfg, 0, "cpu")
    assert tuple(main.shape) == (TINY.n_filters, 33, TINY.kernel_width)
    assert tuple(extra.shape) == (TINY.n_filters, 33, width)
    content = torch.zeros(33, 40)
    assert tuple(features(content, extra).shape) == (TINY.n_filters, 40 - width + 1)


def test_extra_widths_change_the_result(rng):
    from dataclasses import replace

    content, style = _spectra(rng)
    plain, _ = transfer(content, style, TINY, device="cpu", seed=0)
    widened, _ = transfer(content, style, replace(TINY, extra_widths=(9,)), device="cpu", seed=0)
    assert plain.shape == widened.shape
    assert np.abs(plain - widened).max() > 1e-4


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgs-b"])
def test_lower_bound_holds(rng, optimizer):
    content, style = _spectra(rng)
    from dataclasses import replace

    cfg = replace(TINY, optimizer=optimizer, lower_bound=0.0, iterations=8)
    free, _ = transfer(content, style, replace(TINY, iterations=8), device="cpu", seed=0)
    bounded, history = transfer(content, style, cfg, device="cpu", seed=0,
                                parametrisation=Bounded(0.0) if optimizer == "lbfgs" else None)
    assert free.min() < 0  # the unbounded optimiser does go negative here, so the bound has work to do
    assert bounded.min() >= 0.0
    assert history.loss[-1] < history.loss[0]


def test_bins_starting_at_the_bound_move(rng):
    """lower_bound on torch L-BFGS: half the paper's random start lies below the bound. Clamped there, z = 0 and
    its gradient 2z·g stays 0 — those bins never moved (48 % of them); reflected, they all move, and the bounded
    torch run gets as far as scipy's L-BFGS-B with the same bound."""
    from dataclasses import replace

    content, style = _spectra(rng)
    cfg = replace(TINY, lower_bound=0.0, iterations=30)
    bounded, history = transfer(content, style, cfg, device="cpu", seed=0, parametrisation=Bounded(0.0))
    start = torch.randn(content.shape, generator=torch.Generator().manual_seed(1)) * TINY.init_scale
    assert float((start < 0).float().mean()) > 0.4  # the bins that start below the bound
    assert np.mean(bounded == 0.0) < 0.01 and bounded.min() >= 0.0
    _, scipy = transfer(content, style, replace(cfg, optimizer="lbfgs-b"), device="cpu", seed=0)
    assert history.loss[-1] < 1.5 * scipy.loss[-1]


@pytest.mark.parametrize("optimizer, beta", [("lbfgs", 1e30), ("lbfgs-b", 1e36)])
def test_a_non_finite_loss_stops_with_a_clear_error(rng, optimizer, beta):
    from dataclasses import replace

    from audiostyle_engine.errors import ParameterError

    content, style = _spectra(rng)
    # The float32 gradient overflows (scipy's float64 loss takes a larger beta); before, both ran to the cap.
    cfg = replace(TINY, beta=beta, iterations=50, optimizer=optimizer)
    with pytest.raises(ParameterError, match=r"style-transfer loss became (inf|nan) at iteration \d+ .*gradient overflowed.*lower alpha/beta"):
        transfer(content, style, cfg, device="cpu", seed=0)


def test_waveform_domain_gives_a_consistent_spectrogram(rng):
    n_fft, hop, length = 64, 16, 640
    frames = length // hop + 1
    content, style = _spectra(rng, bins=n_fft // 2 + 1, frames=frames)
    wave = Waveform(n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann", length=length, init_scale=1e-3,
                    seed=0)
    x, history = transfer(content, style, TINY, device="cpu", seed=0, parametrisation=wave)
    assert x.shape == content.shape and wave.phase.shape == content.shape
    assert history.loss[-1] < history.loss[0]
    from nodes._spectral import istft, stft

    spec = torch.polar(torch.from_numpy(np.expm1(x)), torch.from_numpy(wave.phase))
    signal = istft(spec.unsqueeze(0), n_fft, hop, n_fft, "hann", length)
    again = np.log1p(stft(signal, n_fft, hop, n_fft, "hann").abs()[0].numpy())
    np.testing.assert_allclose(again, x, atol=1e-3)


GRAPH = """
nodes:
  c_in: {{type: load, path: '{content}'}}
  s_in: {{type: load, path: '{style}'}}
  c_spec: {{type: stft, inputs: {{audio: c_in}}, n_fft: 256, hop_length: 64}}
  s_spec: {{type: stft, inputs: {{audio: s_in}}, n_fft: 256, hop_length: 64}}
  styled:
    type: style_transfer
    inputs: {{content: c_spec, style: s_spec}}
    n_filters: 8
    iterations: 3
{extra}
  back: {{type: istft, inputs: {{spectrogram: styled}}, griffin_lim_iterations: 5}}
  save: {{type: write, inputs: {{audio: back}}, path: '{out}', clip: clip}}
"""


def _graph(tmp_path, wav_file, rng, extra: str) -> tuple:
    content = wav_file("c.wav", chirp(seconds=1.0))
    style = wav_file("s.wav", noise(rng, seconds=1.2))
    path = tmp_path / "g.yaml"
    out = tmp_path / "out.wav"
    path.write_text(GRAPH.format(content=content, style=style, out=out, extra=extra))
    return path, out


def test_waveform_graph_needs_no_griffin_lim(tmp_path, wav_file, rng):
    path, out = _graph(tmp_path, wav_file, rng, "    domain: waveform\n    autocorrelation_weight: 1.0\n"
                                                 "    extra_kernel_widths: [3]")
    result = run_graph(path, seed=0, device="cpu")
    assert "phase_init" not in result.records["back"]  # the carried phase was used: no Griffin-Lim ran
    assert result.records["back"]["spectral_convergence"] < 1e-3
    assert result.records["styled"]["negative_bins_fraction"] == 0.0
    samples, sr = read_audio(out)
    assert sr == SR and samples.shape[1] == SR and np.abs(samples).max() > 0


@pytest.mark.parametrize("extra, message", [
    ("    domain: waveform\n    optimizer: lbfgs-b", "domain: waveform needs optimizer: lbfgs"),
    ("    domain: waveform\n    lower_bound: 0.0", "remove lower_bound"),
    ("    extra_kernel_widths: [3, 0]", r"extra_kernel_widths=\[3, 0\] must be a list of integers in \[1, 512\]"),
])
def test_option_conflicts_are_reported_before_running(tmp_path, wav_file, rng, extra, message):
    path, out = _graph(tmp_path, wav_file, rng, extra)
    with pytest.raises(GraphValidationError, match=message):
        run_graph(path, seed=0, device="cpu")
    assert not out.exists()


ISTFT_GRAPH = """
nodes:
  a_in: {{type: load, path: '{audio}'}}
  spec: {{type: stft, inputs: {{audio: a_in}}}}
  back:
    type: istft
    inputs: {{{inputs}}}
    phase: griffin_lim
    griffin_lim_iterations: 0
  save: {{type: write, inputs: {{audio: back}}, path: '{out}', bit_depth: 32}}
"""


@pytest.mark.parametrize("from_content", [True, False])
def test_istft_phase_from_starts_griffin_lim_from_that_phase(tmp_path, wav_file, from_content):
    source = chirp(seconds=1.0)
    audio = wav_file("a.wav", source)
    out = tmp_path / "back.wav"
    inputs = "spectrogram: spec, phase_from: spec" if from_content else "spectrogram: spec"
    (tmp_path / "g.yaml").write_text(ISTFT_GRAPH.format(audio=audio, out=out, inputs=inputs))
    result = run_graph(tmp_path / "g.yaml", seed=0, device="cpu")
    back, _ = read_audio(out)
    original, _ = read_audio(audio)
    error = np.abs(back - original).max()
    # With zero iterations the output is exactly the starting phase's inverse: the source's own phase
    # gives the source back, a random phase does not.
    if from_content:
        assert result.records["back"]["phase_init"] == "phase_from"
        assert error < 1e-3 and result.records["back"]["spectral_convergence"] < 1e-3
    else:
        assert result.records["back"]["phase_init"] == "random"
        assert error > 0.1


@pytest.mark.parametrize("domain", ["spectrogram", "waveform"])
def test_content_init_starts_from_the_content(tmp_path, wav_file, rng, domain):
    # With no style weight the content start is already optimal: the output stays the content.
    path, out = _graph(tmp_path, wav_file, rng, f"    init: content\n    domain: {domain}\n    beta: 0.0")
    result = run_graph(path, seed=0, device="cpu", keep={"styled", "c_spec"})
    styled = result.values["styled"]["spectrogram"].magnitude
    content = result.values["c_spec"]["spectrogram"].magnitude
    assert np.corrcoef(styled.ravel(), content.ravel())[0, 1] > 0.999


def test_beyond_paper_graph_validates():
    from pathlib import Path

    from audiostyle_engine.run import prepare

    graph = prepare(Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml")
    styled = graph.nodes["styled"]
    assert styled.type == "feature_style" and styled.params["preset"] is None
    assert styled.params["alpha"] == 0.0 and styled.params["hold_content"] and styled.params["domain"] == "consistent"
    assert styled.params["style_blocks"] == [2, 3, 4] and styled.params["random_beta"] == 3.0
    assert styled.params["tolerance"] is not None  # it stops when converged
    assert styled.params["precision"] == "auto"  # bf16 convolutions only where measured faster
    exact = prepare(Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml", {"precision": "fp32"})
    assert exact.nodes["styled"].params["precision"] == "fp32"
    start = graph.nodes[graph.nodes["start_spec"].inputs["audio"][0]]  # it starts from a light mix of the style
    assert styled.inputs["start"][0] == "start_spec" and start.type == "layer" and start.params["amount"] == 0.10
    layered = graph.nodes["layered"]  # the style under the styled output, by the measured share
    assert layered.type == "layer" and layered.params["amount"] == 0.06
    assert graph.nodes["level"].inputs["audio"][0] == "layered"
    # colour: the drum-style spectrum match between the two, off unless asked for
    coloured = graph.nodes["coloured"]
    assert layered.inputs["audio"][0] == "coloured" and coloured.inputs["audio"][0] == "styled_audio"
    assert coloured.type == "match" and coloured.params["by_percussive"] and coloured.params["strength"] == 0.0
    assert coloured.params["dynamics"] == 0.0 and coloured.params["loudness"] == 0.0
    asked = prepare(Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml", {"colour": 0.5})
    assert asked.nodes["coloured"].params["strength"] == 0.5
    # onset_rhythm: the onset loss's weight, 0.3 by default; 0 runs the graph without it
    assert styled.params["onset_weight"] == 0.3
    rhythmic = prepare(Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml", {"onset_rhythm": 0})
    assert rhythmic.nodes["styled"].params["onset_weight"] == 0.0
    # smooth: the change from the start smoothed over 9 frames in time; 1 runs the graph as before it
    assert styled.params["smooth_frames"] == 9
    unsmoothed = prepare(Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml", {"smooth": 1})
    assert unsmoothed.nodes["styled"].params["smooth_frames"] == 1


def test_forced_bf16_where_it_is_slower_is_a_validation_warning(tmp_path, wav_file, rng, monkeypatch):
    from audiostyle_engine import precision
    from audiostyle_engine.run import prepare

    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda cache_dir=None: 0.025)  # an AVX2-only EPYC
    monkeypatch.setattr(precision, "validation_device", lambda: "cpu")
    path, out = _graph(tmp_path, wav_file, rng, "    precision: bf16")
    graph = prepare(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "precision: bf16" in text)
    assert graph.warnings == [f"{path}:{line}:16: node 'styled' (style_transfer): precision: bf16 runs 40.0x slower "
                              "than fp32 on this CPU (probe GEMM: bf16 at 0.03x fp32's speed); use precision: auto "
                              "(or fp32)"]
    result = run_graph(path, seed=0, device="cpu")
    assert result.warnings == graph.warnings  # said once, with its line, in the run summary too
    assert result.records["styled"]["precision"] == "bf16" and out.exists()


@pytest.mark.parametrize("speedup, expected", [(0.025, "fp32"), (3.0, "bf16")])
def test_auto_precision_is_recorded_with_its_reason(tmp_path, wav_file, rng, monkeypatch, speedup, expected):
    import json

    from audiostyle_engine import precision

    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda cache_dir=None: speedup)
    monkeypatch.setattr(precision, "cpu_info", lambda: {"model": "Test CPU", "flags": ["avx2", "avx512_bf16"]})
    path, out = _graph(tmp_path, wav_file, rng, "    precision: auto")
    result = run_graph(path, seed=0, device="cpu")
    record = result.records["styled"]
    assert record["precision"] == expected and record["processing"]["precision"] == expected
    assert record["precision_reason"].startswith(f"auto: a bf16 GEMM measured {speedup:.2f}x the speed of fp32 on "
                                                 "this CPU (Test CPU, avx512_bf16)")
    sidecar = json.loads(out.with_name(out.name + ".provenance.json").read_text())
    assert sidecar["records"]["styled"]["precision_reason"] == record["precision_reason"]
