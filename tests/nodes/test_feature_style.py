"""feature_style mechanics: the pretrained front end passes gradients, losses vanish at their own target,
texture statistics see what they claim, presets set what they say. Quality is bench/quality.py's job."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from audiostyle_engine.errors import InputFileError, ParameterError
from audiostyle_engine.payloads import Audio
from nodes import FeatureStyle, Stft
from nodes._style import pretrained as pt
from nodes._style import texture as tx
from tests.helpers.audio import SR, chirp, noise
from tests.helpers.nodes import run_node

HAS_AISFX = importlib.util.find_spec("aisfx") is not None


def _power(x: np.ndarray) -> torch.Tensor:
    import librosa

    return torch.from_numpy(np.abs(librosa.stft(x.astype(np.float32), n_fft=2048, hop_length=512)) ** 2)


def _net(pretrained: bool) -> pt.FeatureNet:
    return pt.FeatureNet(pt.load_weights() if pretrained else pt.random_weights(0))


@pytest.mark.parametrize("pretrained", [False, pytest.param(True, marks=pytest.mark.skipif(
    not HAS_AISFX, reason="aisfx weights not installed (pip install --no-deps aisfx==0.1.2)"))])
def test_gradients_flow_through_the_front_end_to_the_log_magnitude(rng, pretrained):
    net = _net(pretrained)
    content = chirp(seconds=0.5)[0]
    style = noise(rng, seconds=0.5)[0]
    loss = pt.PretrainedLoss(net, _power(content), _power(style))
    z = torch.log1p(_power(content).sqrt()).requires_grad_(True)
    terms = loss.terms(torch.expm1(z) ** 2)
    c, s = terms["content"], terms["style"]
    (c + s).backward()
    c, s = c.detach(), s.detach()
    g = z.grad
    assert torch.isfinite(g).all()
    assert float(c) < 1e-10 and float(s) > 1e-3  # at the content: no content loss, some style loss
    # every frequency region of the input gets gradient: low, middle and top bins
    for band in (slice(1, 50), slice(300, 500), slice(800, 1000)):
        assert float(g[band].abs().sum()) > 0


@pytest.mark.skipif(not HAS_AISFX, reason="aisfx weights not installed (pip install --no-deps aisfx==0.1.2)")
def test_pretrained_weights_load_into_the_architecture():
    w = pt.load_weights()
    assert w["conv_block1.conv1.weight"].shape == (64, 1, 3, 3)
    assert w["conv_block4.conv2.weight"].shape == (512, 512, 3, 3)
    assert set(w) >= set(pt.random_weights(0))  # every tensor the net reads is there


def test_pretrained_loss_vanishes_at_its_targets(rng):
    net = _net(False)
    p = _power(noise(rng, seconds=0.5)[0])
    terms = pt.PretrainedLoss(net, p, p, rhythm_seconds=0.2).terms(p)
    c, s, r = terms["content"], terms["style"], terms["rhythm"]
    assert float(c) < 1e-10 and float(s) < 1e-10 and float(r) < 1e-10


def test_band_grams_tell_the_register_that_one_gram_pools_away(rng):
    # The same texture at low and at high mel positions: one Gram cannot tell them apart, per-band Grams can.
    texture = torch.from_numpy(rng.random((8, 20, 24))).float()
    low, high = torch.zeros(8, 20, 96), torch.zeros(8, 20, 96)
    low[:, :, 4:28], high[:, :, 68:92] = texture, texture
    torch.testing.assert_close(pt.gram(low), pt.gram(high))
    bands_low, bands_high = pt.band_grams(low, 4), pt.band_grams(high, 4)
    assert len(bands_low) == 4 and float(bands_low[0].abs().sum()) > 0 and float(bands_low[3].abs().sum()) == 0
    assert float(bands_high[0].abs().sum()) == 0 and float(bands_high[3].abs().sum()) > 0
    assert len(pt.band_grams(low[:, :, :3], 4)) == 3  # never more bands than the block has mel positions


def test_banded_style_loss_vanishes_at_its_target_and_one_band_is_the_plain_gram(rng):
    net = _net(False)
    p, q = _power(noise(rng, seconds=0.5)[0]), _power(chirp(seconds=0.5)[0])
    assert float(pt.PretrainedLoss(net, p, p, gram_bands=4).terms(p)["style"]) < 1e-10
    banded = pt.PretrainedLoss(net, q, p, gram_bands=4).terms(q)["style"]
    one = pt.PretrainedLoss(net, q, p, gram_bands=1).terms(q)["style"]
    feats_q, feats_p = net(q), net(p)
    plain = sum(((pt.gram(feats_q[b]) - pt.gram(feats_p[b])) ** 2).sum() / (pt.gram(feats_p[b]) ** 2).sum() for b in range(4))
    torch.testing.assert_close(one, plain)
    assert float(banded) > 0 and not torch.isclose(banded, one)


def test_autocovariance_sees_the_beat_that_the_gram_pools_away(rng):
    # Bursts every 5 frames or every 10: the autocovariance peaks at each one's own period.
    fast, slow = torch.zeros(4, 200, 6), torch.zeros(4, 200, 6)
    burst = torch.from_numpy(rng.random((4, 1, 6)) + 0.5).float()
    fast[:, ::5], slow[:, ::10] = burst, burst
    fast_ac, slow_ac = pt.autocovariance(fast, 20), pt.autocovariance(slow, 20)
    assert fast_ac.shape == (4, 20)
    assert (fast_ac[:, 4] > 0).all() and (slow_ac[:, 4] < 0).all()  # lag 5: in step for one, out for the other
    assert (slow_ac[:, 9] > 0).all() and (slow_ac[:, 9] > slow_ac[:, 4]).all()
    assert pt.autocovariance(fast, 20, bands=3).shape == (12, 20)
    assert pt.block_hop_seconds(2) == pytest.approx(2048 / 44100)


def test_rhythm_loss_pulls_towards_the_styles_beat(rng):
    # A steady noise against a pulsed one: the rhythm loss is large, falls when the pulse is imposed,
    # and its gradient reaches the log-magnitude.
    net = _net(False)
    steady = noise(rng, seconds=3.0)[0]
    gate = (np.sin(2 * np.pi * 4 * np.arange(steady.size) / SR) > 0).astype(np.float32)
    pulsed = steady * gate
    loss = pt.PretrainedLoss(net, _power(steady), _power(pulsed), style_blocks=(2,), rhythm_seconds=1.0)
    far = loss.terms(_power(steady))["rhythm"]
    near = loss.terms(_power(pulsed))["rhythm"]
    assert float(near) < 1e-10 < float(far)
    z = torch.log1p(_power(steady).sqrt()).requires_grad_(True)
    loss.terms(torch.expm1(z) ** 2)["rhythm"].backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0


def test_front_end_does_not_depend_on_level(rng):
    net = _net(False)
    p = _power(noise(rng, seconds=0.5)[0])
    torch.testing.assert_close(net.front_end(p), net.front_end(p * 100.0))


def test_missing_weights_give_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps aisfx==0\.1\.2"):
        pt.checkpoint_path()


@pytest.mark.skipif(not HAS_AISFX, reason="aisfx weights not installed (pip install --no-deps aisfx==0.1.2)")
def test_missing_weights_fail_validation_at_the_styled_node(monkeypatch):
    from audiostyle_engine.errors import GraphValidationError
    from audiostyle_engine.run import prepare

    graph = Path(__file__).resolve().parents[2] / "graphs" / "beyond_paper.yaml"
    prepare(graph)  # with the weights installed it validates
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "aisfx" else real(name, *a))
    with pytest.raises(GraphValidationError, match=r"beyond_paper\.yaml:\d+:\d+: node 'styled' \(feature_style\).*"
                                                   r"pip install --no-deps aisfx==0\.1\.2"):
        prepare(graph)


def _am_noise(rng, rate_hz: float, seconds: float = 3.0) -> torch.Tensor:
    t = np.arange(int(SR * seconds)) / SR
    x = rng.standard_normal(t.size) * (1.0 + 0.9 * np.sin(2 * np.pi * rate_hz * t))
    return _power(x).sqrt()


def test_texture_statistics_match_for_a_signal_against_itself(rng):
    mag = _am_noise(rng, 4.0)
    loss = tx.TextureLoss(mag, SR, 2048, 512)
    assert float(loss(mag)) < 1e-10
    assert float(loss(_am_noise(rng, 12.0))) > 1e-2


def test_modulation_power_sits_in_the_band_of_the_modulation_rate(rng):
    filters = torch.from_numpy(tx.band_filters(SR, 2048))
    for rate, band in ((3.0, 2), (12.0, 4)):  # bands: 0.5-1, 1-2, 2-4, 4-8, 8-16, 16-32 Hz
        stats = tx.statistics(_am_noise(rng, rate), filters, SR / 512)
        assert int(stats["modulation"].mean(dim=0).argmax()) == band


def test_texture_loss_has_gradients(rng):
    loss = tx.TextureLoss(_am_noise(rng, 4.0), SR, 2048, 512)
    z = torch.log1p(_am_noise(rng, 8.0)).requires_grad_(True)
    loss(torch.expm1(z)).backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0


def _spectrograms(rng, seconds=1.0):
    content = Audio(chirp(seconds=seconds), SR)
    style = Audio(noise(rng, seconds=seconds), SR)
    return (run_node(Stft, {"audio": content})[0]["spectrogram"], run_node(Stft, {"audio": style})[0]["spectrogram"])


@pytest.mark.parametrize("domain", ["logmag", "consistent", "waveform"])
def test_node_lowers_its_loss_and_returns_a_phase(rng, domain):
    c, s = _spectrograms(rng)
    out, rec, _ = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=3, domain=domain,
                           texture_weight=1.0)
    spec = out["spectrogram"]
    assert spec.magnitude.shape == c.magnitude.shape and spec.phase is not None
    assert (spec.magnitude >= 0).all()
    h = rec["history"]
    assert h["loss"][-1] < h["loss"][0] and h["iteration"][-1] >= 1
    if domain == "logmag":
        np.testing.assert_array_equal(spec.phase, c.phase)  # the content's phase is kept


def test_content_noise_start_adds_noise_at_the_stated_level(rng):
    c, s = _spectrograms(rng)
    start = {}
    for init in ("content", "content_noise"):
        rec = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=1, alpha=0.0, beta=0.0,
                       texture_weight=1e-12, init=init, noise_db=-20.0)[1]
        start[init] = rec["history"]["content_correlation"][0]
    assert start["content"] > 0.999 and start["content_noise"] < start["content"] - 0.01


def test_presets_set_what_they_say():
    from nodes.feature_style import PRESETS

    defaults = {p.name: p.default for p in FeatureStyle.spec.params}
    for name, values in PRESETS.items():
        resolved = FeatureStyle({**defaults, "preset": name}).resolved()
        assert {k: resolved[k] for k in values} == values
    assert FeatureStyle({**defaults, "alpha": 0.7}).resolved()["alpha"] == 0.7  # no preset: the given values


def test_content_without_phase_is_refused(rng):
    c, s = _spectrograms(rng)
    from dataclasses import replace

    with pytest.raises(ParameterError, match="keep_phase: true"):
        run_node(FeatureStyle, {"content": replace(c, phase=None), "style": s}, weights="random", iterations=1)


@pytest.mark.parametrize("which", ["content", "style", "start"])
def test_silent_inputs_are_refused_naming_the_clip(rng, which):
    """A silent clip used to reach the optimiser and stop it with librosa's "not finite" (an internal error)."""
    c, s = _spectrograms(rng)
    zeros = np.zeros((1, c.length), np.float32)  # the content's length, so that a silent start fits it
    silent = run_node(Stft, {"audio": Audio(zeros, SR, source="quiet.wav")})[0]["spectrogram"]
    inputs = {"content": c, "style": s, which: silent}
    with pytest.raises(InputFileError, match=f"{which} 'quiet.wav' is silent; feature_style needs a clip with sound in it"):
        run_node(FeatureStyle, inputs, weights="random", iterations=1)


def test_start_input_sets_where_the_optimisation_begins_and_the_phase(rng):
    """With a start, the first iterate is the start (lower content correlation than the content itself), the
    content loss still refers to the content, and the logmag output keeps the start's phase."""
    c, s = _spectrograms(rng)
    other = run_node(Stft, {"audio": Audio(noise(rng, seconds=1.0, amp=0.05) + chirp(seconds=1.0), SR)})[0]["spectrogram"]
    out, rec, _ = run_node(FeatureStyle, {"content": c, "style": s, "start": other}, weights="random", iterations=3,
                           alpha=1.0, beta=0.0)
    h = rec["history"]
    assert h["content_correlation"][0] < 0.99  # began away from the content ...
    assert h["content_correlation"][-1] > h["content_correlation"][0]  # ... and the content loss pulled it back
    np.testing.assert_array_equal(out["spectrogram"].phase, other.phase)


def test_start_with_other_frames_is_refused(rng):
    c, s = _spectrograms(rng)
    short = _spectrograms(rng, seconds=0.5)[0]
    with pytest.raises(ParameterError, match="frames"):
        run_node(FeatureStyle, {"content": c, "style": s, "start": short}, weights="random", iterations=1)


def _reanalysed(spec) -> np.ndarray:
    """log1p |STFT(ISTFT(spec))|: what is left of a spectrogram in the signal it makes."""
    import librosa

    signal = librosa.istft(spec.linear_magnitude()[0] * np.exp(1j * spec.phase[0]), n_fft=spec.n_fft,
                           hop_length=spec.hop_length, length=spec.length)
    return np.log1p(np.abs(librosa.stft(signal, n_fft=spec.n_fft, hop_length=spec.hop_length)))


def test_consistent_domain_measures_its_loss_on_the_signal_it_returns(rng):
    """logmag optimises a magnitude that no signal has (the ISTFT keeps only part of what it put in);
    consistent measures its loss on the signal's own STFT and returns that, so the loss it reports is the
    loss of what is heard."""
    c, s = _spectrograms(rng)
    net = _net(False)  # the node's random weights (seed 0)
    targets = pt.PretrainedLoss(net, torch.from_numpy(c.linear_magnitude()[0]) ** 2,
                                torch.from_numpy(s.linear_magnitude().mean(axis=0)) ** 2)
    off, heard = {}, {}
    for domain in ("logmag", "consistent"):
        spec, rec, _ = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=3, alpha=0.0,
                                domain=domain)
        spec = spec["spectrogram"]
        again = _reanalysed(spec)
        off[domain] = float(np.max(np.abs(again - spec.magnitude)))
        with torch.no_grad():
            style_loss = float(targets.terms(torch.from_numpy(np.expm1(again).astype(np.float32)) ** 2)["style"])
        heard[domain] = abs(style_loss - rec["history"]["style_loss"][-1]) / rec["history"]["style_loss"][-1]
    assert off["consistent"] < 1e-3 < 0.05 < off["logmag"], off
    assert heard["consistent"] < 1e-3 < 0.05 < heard["logmag"], heard


def _start(rng, c):
    """A light mix under the content: the start hold_content holds the content correlation at."""
    mixed = Audio((chirp(seconds=1.0) + noise(rng, seconds=1.0, amp=0.05)).astype(np.float32), SR)
    return run_node(Stft, {"audio": mixed})[0]["spectrogram"]


@pytest.mark.parametrize("domain", ["logmag", "consistent"])
def test_hold_content_keeps_the_starts_content_correlation_where_the_style_loss_alone_drops_it(rng, domain):
    c, s = _spectrograms(rng)
    start = _start(rng, c)
    last = {}
    for hold in (False, True):
        h = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, weights="random", iterations=8,
                     alpha=0.0, domain=domain, hold_content=hold)[1]["history"]
        last[hold] = (h["content_correlation"][0], h["content_correlation"][-1], h["style_loss"][0], h["style_loss"][-1])
    (c0, free, *_), (c0_held, held, s0, s1) = last[False], last[True]
    assert c0 == pytest.approx(c0_held) and c0 < 0.99
    assert free < c0 - 0.02  # the style loss alone takes the content away ...
    assert held > c0 - 0.005  # ... and held it stays at the start's
    assert s1 < s0  # while the style loss still falls


def test_hold_scale_mel_weighs_the_bass_as_the_mel_axis_does(rng):
    """Over the STFT's linear bins a change below 250 Hz (12 of 1025 bins) barely moves the floor; over mel
    bands (hold_scale: mel) the bass weighs as the network's front end gives it."""
    from nodes._style.feature_opt import _content_floor

    mag = torch.from_numpy(np.abs(rng.standard_normal((1025, 40))).astype(np.float32) * 2.0)
    bass = torch.from_numpy(np.arange(1025) * SR / 2048 < 250)
    changed = mag.clone()
    changed[bass] *= 4.0
    penalty = {}
    for scale in ("linear", "mel"):
        floor = _content_floor(mag, mag, scale, sample_rate=SR, n_fft=2048)  # the start is the content: target 1
        assert float(floor(mag)) == pytest.approx(0.0, abs=1e-6)
        penalty[scale] = float(floor(changed))
    assert penalty["mel"] > 5 * penalty["linear"] > 0


def test_hold_scale_mel_holds_the_starts_mel_correlation_where_the_style_loss_alone_drops_it(rng):
    from nodes._style.core import correlation
    from nodes._style.feature_opt import _mel_projection

    c, s = _spectrograms(rng)
    mixed = Audio((chirp(seconds=1.0) + noise(rng, seconds=1.0, amp=0.3)).astype(np.float32), SR)
    start = run_node(Stft, {"audio": mixed})[0]["spectrogram"]
    mel = _mel_projection(SR, c.n_fft)

    def mel_corr(sp):
        def bands(x):
            return torch.log1p(mel(torch.from_numpy(x.linear_magnitude()[0].astype(np.float32))))
        return float(correlation(bands(sp), bands(c)))
    out = {hold: run_node(FeatureStyle, {"content": c, "style": s, "start": start}, weights="random", iterations=8,
                          alpha=0.0, domain="consistent", hold_content=hold, hold_scale="mel")[0]["spectrogram"]
           for hold in (False, True)}
    assert mel_corr(start) < 0.99
    assert mel_corr(out[False]) < mel_corr(start) - 0.02  # the style loss alone takes the content away ...
    assert mel_corr(out[True]) > mel_corr(start) - 0.005  # ... and the mel floor holds it


def test_a_floor_equal_to_the_start_changes_nothing(rng):
    c, s = _spectrograms(rng)
    start = _start(rng, c)
    kw = dict(weights="random", iterations=3, alpha=0.0, domain="consistent", hold_content=True)
    plain = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, **kw)
    floored = run_node(FeatureStyle, {"content": c, "style": s, "start": start, "floor": start}, **kw)
    np.testing.assert_array_equal(floored[0]["spectrogram"].magnitude, plain[0]["spectrogram"].magnitude)
    assert floored[1]["history"]["loss"] == plain[1]["history"]["loss"]


def test_a_lighter_floor_than_the_start_makes_the_output_win_the_content_back(rng):
    """A start heavy in the style with the floor at a lighter mix's correlation: the output ends near the
    floor's correlation, above the start's, where the start's own floor would have left it."""
    from nodes._style.core import correlation

    c, s = _spectrograms(rng)
    light = _start(rng, c)
    heavy_audio = Audio((chirp(seconds=1.0) + noise(rng, seconds=1.0, amp=0.3)).astype(np.float32), SR)
    heavy = run_node(Stft, {"audio": heavy_audio})[0]["spectrogram"]

    def corr(sp):
        return float(correlation(torch.from_numpy(sp.magnitude[0]), torch.from_numpy(c.magnitude[0])))
    kw = dict(weights="random", iterations=8, alpha=0.0, domain="consistent", hold_content=True)
    own = run_node(FeatureStyle, {"content": c, "style": s, "start": heavy}, **kw)[0]["spectrogram"]
    lifted = run_node(FeatureStyle, {"content": c, "style": s, "start": heavy, "floor": light}, **kw)[0]["spectrogram"]
    assert corr(heavy) < corr(light) - 0.05
    assert corr(own) < corr(light) - 0.03  # held at the heavy start's ...
    assert corr(lifted) > corr(light) - 0.01  # ... or lifted to the light floor's


def _styled_graph(tmp_path, wav_file, inputs: str, extra: str = ""):
    """A graph of one feature_style node (random weights) on a chirp, with these inputs and extra param lines."""
    from tests.helpers.graphs import write_graph

    path = wav_file("c.wav", chirp(seconds=1.0))
    return write_graph(tmp_path, f"""
        nodes:
          c: {{type: load, path: '{path}'}}
          spec: {{type: stft, inputs: {{audio: c}}}}
          styled:
            type: feature_style
            inputs: {{{inputs}}}
            weights: random{extra}
          out: {{type: istft, inputs: {{spectrogram: styled}}}}
        """)


def test_a_floor_without_hold_content_fails_validation(tmp_path, wav_file):
    from audiostyle_engine.errors import GraphValidationError
    from audiostyle_engine.run import prepare

    graph = _styled_graph(tmp_path, wav_file, "content: spec, style: spec, start: spec, floor: spec")
    with pytest.raises(GraphValidationError, match=r"g\.yaml:\d+:\d+: node 'styled' \(feature_style\): the floor input "
                                                   r".*set hold_content: true"):
        prepare(graph)


def test_hold_content_without_a_start_fails_validation_naming_the_line(tmp_path, wav_file):
    from audiostyle_engine.errors import GraphValidationError
    from audiostyle_engine.run import prepare

    graph = _styled_graph(tmp_path, wav_file, "content: spec, style: spec", "\n            hold_content: true")
    with pytest.raises(GraphValidationError, match=r"g\.yaml:8:\d+: node 'styled' \(feature_style\): hold_content .*"
                                                   r"connect one"):
        prepare(graph)


def test_consistent_domain_holds_the_starts_level(rng):
    """The front end ignores level, so in log|S| the level could drift anywhere (on the devset to 3× the
    content's RMS, clipping at the write); the consistent domain keeps the signal at the start's RMS."""
    import librosa

    c, s = _spectrograms(rng)
    start = _start(rng, c)
    spec = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, weights="random", iterations=8,
                    alpha=0.0, domain="consistent", hold_content=True)[0]["spectrogram"]

    def rms(sp):
        x = librosa.istft(sp.linear_magnitude()[0] * np.exp(1j * sp.phase[0]), n_fft=sp.n_fft,
                          hop_length=sp.hop_length, length=sp.length)
        return float(np.sqrt(np.mean(x ** 2)))
    assert rms(spec) == pytest.approx(rms(start), rel=1e-3)


def test_random_beta_is_the_random_weight_gram_of_the_signal_it_returns(rng):
    """random_beta alone (no pretrained network read): its loss falls, and it is the Gram loss, over the
    style blocks asked for, of the same architecture with the seed's random weights on what is heard."""
    c, s = _spectrograms(rng)
    spec, rec, _ = run_node(FeatureStyle, {"content": c, "style": s}, iterations=4, alpha=0.0, beta=0.0,
                            random_beta=1.0, style_blocks=[2, 3, 4], domain="consistent", seed=3)
    h = rec["history"]
    assert h["random_style_loss"][-1] < 0.99 * h["random_style_loss"][0]
    assert max(h["style_loss"]) == 0.0
    targets = pt.PretrainedLoss(pt.FeatureNet(pt.random_weights(3)), torch.from_numpy(c.linear_magnitude()[0]) ** 2,
                                torch.from_numpy(s.linear_magnitude().mean(axis=0)) ** 2, style_blocks=(2, 3, 4))
    with torch.no_grad():
        at_start = float(targets.terms(torch.from_numpy(c.linear_magnitude()[0]) ** 2)["style"])
        heard = float(targets.terms(torch.from_numpy(np.expm1(_reanalysed(spec["spectrogram"])).astype(np.float32)) ** 2)["style"])
    # Another seed's net scores these within 1 % (its Grams are alike in the large), hence the tight tolerance.
    assert at_start == pytest.approx(h["random_style_loss"][0], rel=1e-4)
    assert heard == pytest.approx(h["random_style_loss"][-1], rel=1e-4)


def test_random_beta_beside_beta_adds_a_second_gram_term(rng):
    """With weights: random both terms read the same seed's network, so they are equal at every iteration
    and the total is their sum."""
    c, s = _spectrograms(rng)
    h = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=2, alpha=0.0, beta=1.0,
                 random_beta=0.5)[1]["history"]
    np.testing.assert_allclose(h["random_style_loss"], h["style_loss"], rtol=1e-6)
    np.testing.assert_allclose(h["loss"], 1.5 * np.array(h["style_loss"]), rtol=1e-5)


def test_random_blocks_give_the_random_weight_gram_its_own_blocks(rng):
    """With weights: random both Grams read one network: over the same blocks they are equal (above); with
    random_blocks the second is that network's Gram over those blocks, and style_blocks' term is unchanged."""
    c, s = _spectrograms(rng)
    run = dict(weights="random", iterations=1, alpha=0.0, beta=1.0, random_beta=1.0, style_blocks=[3, 4], seed=3)
    same = run_node(FeatureStyle, {"content": c, "style": s}, **run)[1]["history"]
    own = run_node(FeatureStyle, {"content": c, "style": s}, random_blocks=[2], **run)[1]["history"]
    targets = pt.PretrainedLoss(pt.FeatureNet(pt.random_weights(3)), torch.from_numpy(c.linear_magnitude()[0]) ** 2,
                                torch.from_numpy(s.linear_magnitude().mean(axis=0)) ** 2, style_blocks=(2,))
    with torch.no_grad():
        block2 = float(targets.terms(torch.from_numpy(c.linear_magnitude()[0]) ** 2)["style"])
    assert own["style_loss"][0] == pytest.approx(same["style_loss"][0], rel=1e-6)
    assert own["random_style_loss"][0] == pytest.approx(block2, rel=1e-4)
    assert abs(own["random_style_loss"][0] - same["random_style_loss"][0]) > 0.01 * same["random_style_loss"][0]


@pytest.mark.parametrize("blocks", [[], [5], [2, "3"]])
def test_random_blocks_outside_1_to_4_fail_validation(blocks):
    params = {p.name: p.default for p in FeatureStyle.spec.params}
    problems = FeatureStyle.check_params({**params, "weights": "random", "random_blocks": blocks})
    assert [p.param for p in problems] == ["random_blocks"]


def test_frame_statistics_see_which_textures_sound_together_where_the_gram_cannot():
    """Two channels that fire at different mel positions, in the same frames or in alternate ones: every
    position-wise product is 0 either way, so the Grams are equal; the frame vectors' covariance has the
    opposite sign."""
    together, apart = torch.zeros(2, 64, 8), torch.zeros(2, 64, 8)
    together[0, ::8, 0] = together[1, ::8, 5] = 1.0  # a kick low and a hat high, on the same hits
    apart[0, ::8, 0] = apart[1, 4::8, 5] = 1.0  # the hat between the kicks
    torch.testing.assert_close(pt.gram(together), pt.gram(apart))
    (m_t, cov_t), (m_a, cov_a) = pt.frame_statistics(together), pt.frame_statistics(apart)
    torch.testing.assert_close(m_t, m_a)
    assert float(cov_t[0, 1]) > 0 > float(cov_a[0, 1])
    assert pt.frame_statistics(together, bands=2)[1].shape == (4, 4)  # one vector entry per channel and mel range


def test_frame_loss_vanishes_at_its_target_and_reaches_the_log_magnitude(rng):
    net = _net(False)
    steady = noise(rng, seconds=2.0)[0]
    gate = (np.sin(2 * np.pi * 3 * np.arange(steady.size) / SR) > 0).astype(np.float32)
    loss = pt.PretrainedLoss(net, _power(steady), _power(steady * gate), style_blocks=(2, 3), frame_stats=True)
    assert float(loss.terms(_power(steady * gate))["frame"]) < 1e-10 < float(loss.terms(_power(steady))["frame"])
    assert float(pt.PretrainedLoss(net, _power(steady), _power(steady * gate)).terms(_power(steady))["frame"]) == 0.0
    z = torch.log1p(_power(steady).sqrt()).requires_grad_(True)
    loss.terms(torch.expm1(z) ** 2)["frame"].backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0


def test_frame_weight_adds_the_frame_statistics_of_the_signal_it_returns(rng):
    """The reported frame loss is the frame statistics' loss of what is heard, it falls, and the total is
    the Gram plus frame_weight times it."""
    c, s = _spectrograms(rng)
    spec, rec, _ = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=4, alpha=0.0,
                            beta=1.0, frame_weight=0.5, style_blocks=[2, 3], domain="consistent")
    h = rec["history"]
    assert h["frame_loss"][-1] < 0.99 * h["frame_loss"][0]
    np.testing.assert_allclose(h["loss"], np.array(h["style_loss"]) + 0.5 * np.array(h["frame_loss"]), rtol=1e-5)
    targets = pt.PretrainedLoss(_net(False), torch.from_numpy(c.linear_magnitude()[0]) ** 2,
                                torch.from_numpy(s.linear_magnitude().mean(axis=0)) ** 2, style_blocks=(2, 3),
                                frame_stats=True)
    with torch.no_grad():
        heard = float(targets.terms(torch.from_numpy(np.expm1(_reanalysed(spec["spectrogram"])).astype(np.float32)) ** 2)["frame"])
    assert heard == pytest.approx(h["frame_loss"][-1], rel=1e-4)


def test_bf16_network_gives_fp32_features_within_bf16_rounding_and_passes_gradients(rng):
    """precision bf16: the convolutions round to bfloat16, everything read from them stays float32."""
    power = _power(noise(rng, seconds=1.0)[0])
    exact = pt.FeatureNet(pt.random_weights(0))(power)
    z = torch.log1p(power.sqrt()).requires_grad_(True)
    rounded = pt.FeatureNet(pt.random_weights(0), precision="bf16")(torch.expm1(z) ** 2)
    for a, b in zip(exact, rounded):
        assert b.dtype == torch.float32 and b.shape == a.shape
        error = float((b.detach() - a).norm() / a.norm())
        assert 1e-4 < error < 0.05  # rounded (not fp32 in disguise), by about bf16's 3 significant digits
    sum(pt.gram(f).sum() for f in rounded).backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0


@pytest.mark.parametrize("bands", [1, 3])
def test_grams_of_channels_last_features_are_those_of_contiguous_ones_with_the_same_gradient(rng, bands):
    """bf16's features come channels-last and the Gram reads them as they lie: the same numbers, and the
    same gradient, as the [channels, positions] product of the same values laid out contiguously."""
    values = torch.from_numpy(rng.standard_normal((1, 16, 12, 10)).astype(np.float32))
    grads = []
    for layout in (torch.contiguous_format, torch.channels_last):
        x = values.clone().contiguous(memory_format=layout).requires_grad_(True)
        feats = x.squeeze(0)
        grams = pt.band_grams(feats, bands)
        assert [g.shape for g in grams] == [(16, 16)] * bands
        reference = [pt.gram(part.contiguous()) for part in pt.mel_ranges(values[0], bands)]
        for g, r in zip(grams, reference):
            torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)
        sum((g ** 2).sum() for g in grams).backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6)

def test_precision_records_what_ran_and_auto_follows_the_convolution_probe(rng, monkeypatch):
    from audiostyle_engine import precision

    c, s = _spectrograms(rng, seconds=0.5)
    runs = {}
    monkeypatch.setattr(precision, "cpu_info", lambda: {"model": "test CPU", "flags": ["avx2", "amx_bf16"]})
    for name, speedup in (("fast", 3.0), ("slow", 0.5)):
        monkeypatch.setattr(precision, "cpu_conv_bf16_speedup", lambda cache_dir=None, speedup=speedup: speedup)
        monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda *a, **k: pytest.fail("the GEMM probe decides nothing here"))
        runs[name] = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=2,
                              precision="auto")
    fast, slow = runs["fast"][1], runs["slow"][1]
    assert fast["precision"] == "bf16" and "a bf16 convolution measured 3.00x" in fast["precision_reason"]
    assert slow["precision"] == "fp32" and "below the 1.2x" in slow["precision_reason"]
    exact = run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=2)
    assert exact[1]["precision"] == "fp32" and exact[1]["device"] == "cpu"
    # the slow machine's auto ran fp32 exactly; the fast one's bf16 took another path
    np.testing.assert_array_equal(slow["history"]["loss"], exact[1]["history"]["loss"])
    assert fast["history"]["loss"] != exact[1]["history"]["loss"]
    assert fast["history"]["loss"][-1] < fast["history"]["loss"][0]


def test_forced_bf16_where_the_convolution_probe_measured_it_slower_is_a_validation_warning(tmp_path, wav_file,
                                                                                           monkeypatch):
    from audiostyle_engine import precision
    from audiostyle_engine.run import prepare

    monkeypatch.setattr(precision, "cpu_conv_bf16_speedup", lambda cache_dir=None: 0.05)  # emulated bf16
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda *a, **k: pytest.fail("the GEMM probe decides nothing here"))
    monkeypatch.setattr(precision, "validation_device", lambda: "cpu")
    graph = _styled_graph(tmp_path, wav_file, "content: spec, style: spec", "\n            precision: bf16")
    (warning,) = prepare(graph).warnings
    line = next(i for i, text in enumerate(graph.read_text().splitlines(), 1) if "precision: bf16" in text)
    assert warning.startswith(f"{graph}:{line}:16: ")  # the param's own line
    assert warning.endswith("node 'styled' (feature_style): precision: bf16 runs 20.0x slower than fp32 on this CPU "
                            "(probe convolution: bf16 at 0.05x fp32's speed); use precision: auto (or fp32)")


@pytest.mark.gpu
@pytest.mark.parametrize("domain", ["logmag", "consistent", "waveform"])
def test_cuda_matches_cpu(rng, domain):
    """The run's device: the networks, the signal path and the optimiser on CUDA give the CPU's numbers."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    c, s = _spectrograms(rng)
    start = _start(rng, c)
    cfg = dict(weights="random", iterations=4, domain=domain, alpha=0.0, hold_content=True, random_beta=1.0,
               texture_weight=0.1, style_blocks=[2, 3], precision="fp32")
    cpu = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, device="cpu", **cfg)
    gpu = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, device="cuda", **cfg)
    assert gpu[1]["device"] == "cuda" and cpu[1]["device"] == "cpu"
    assert gpu[1]["history"]["loss"][0] == pytest.approx(cpu[1]["history"]["loss"][0], rel=1e-4)
    assert gpu[1]["history"]["loss"][-1] == pytest.approx(cpu[1]["history"]["loss"][-1], rel=2e-2)
    a, b = cpu[0]["spectrogram"].magnitude, gpu[0]["spectrogram"].magnitude
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
    # bf16 on the GPU: the same objective within its rounding, and it optimises
    rounded = run_node(FeatureStyle, {"content": c, "style": s, "start": start}, device="cuda",
                       **{**cfg, "precision": "bf16"})[1]
    assert rounded["precision"] == "bf16"
    assert rounded["history"]["loss"][0] == pytest.approx(cpu[1]["history"]["loss"][0], rel=3e-2)
    assert rounded["history"]["loss"][-1] < rounded["history"]["loss"][0]


def test_exact_fp32_convolutions_switches_cudnns_tf32_off_only_inside_and_only_for_cuda():
    from audiostyle_engine.device import exact_fp32_convolutions

    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    with exact_fp32_convolutions("cpu"):
        assert conv.fp32_precision == before
    with pytest.raises(RuntimeError, match="inside"):
        with exact_fp32_convolutions("cuda:0"):
            assert conv.fp32_precision == "ieee"
            raise RuntimeError("inside")
    assert conv.fp32_precision == before


def test_texture_statistics_alone_run_no_network_and_say_so(rng, monkeypatch):
    from audiostyle_engine import precision

    monkeypatch.setattr(precision, "cpu_conv_bf16_speedup", lambda *a, **k: pytest.fail("nothing to probe for"))
    c, s = _spectrograms(rng, seconds=0.5)
    rec = run_node(FeatureStyle, {"content": c, "style": s}, iterations=1, alpha=0.0, beta=0.0, texture_weight=1.0,
                   precision="auto")[1]
    assert rec["precision"] == "fp32" and rec["precision_reason"].startswith("no network runs")


def _flat_then_bowl(state):
    def loss_fn(z):
        loss = (z ** 2).sum() * (0.0 if state["flat"] else 1.0)
        zero = torch.zeros(())
        return loss, dict(content=zero, style=loss.detach(), random_style=zero, rhythm=zero, frame=zero, onset=zero,
                          texture=zero)
    return loss_fn


def test_a_stalled_optimisation_goes_on_once_on_stall_has_changed_the_loss():
    from nodes._style import feature_opt as fo

    cfg = fo.FeatureConfig("logmag", 0.0, 1.0, 0.0, iterations=5, tolerance=None, tolerance_window=10)
    state = {"flat": True}
    _, plain = fo.optimise(_flat_then_bowl(state), torch.ones(8), cfg)
    assert plain["stopped"] == "no_progress" and plain["iteration"] == [0] and plain["stall_iteration"] is None

    def on_stall():
        state["flat"] = False
        return True

    z, h = fo.optimise(_flat_then_bowl(state), torch.ones(8), cfg, on_stall=on_stall)
    assert h["stall_iteration"] == 1 and h["iteration"][-1] >= 1 and float((z ** 2).sum()) < 1e-6


def test_a_bf16_run_that_stalls_goes_on_in_fp32_and_says_so(rng, monkeypatch):
    from nodes._style import feature_opt as fo

    real = fo.optimise

    def stalls_at_once(loss_fn, z0, cfg, *args, on_stall=None, **kwargs):
        assert on_stall() is True and on_stall() is False  # both networks switched, nothing left to switch
        z, history = real(loss_fn, z0, cfg, *args, **kwargs)
        history["stall_iteration"] = 1
        return z, history

    c, s = _spectrograms(rng, seconds=0.5)
    cfg = dict(weights="random", iterations=3, random_beta=1.0, style_blocks=[2, 3])
    exact = run_node(FeatureStyle, {"content": c, "style": s}, **cfg, precision="fp32")[1]
    monkeypatch.setattr(fo, "optimise", stalls_at_once)
    fell_back = run_node(FeatureStyle, {"content": c, "style": s}, **cfg, precision="bf16")[1]
    assert fell_back["history"]["loss"] == exact["history"]["loss"]  # exactly fp32's run from there on
    assert fell_back["precision"] == "bf16" and fell_back["precision_reason"].endswith(
        "; fp32 from iteration 1 on, where bf16's line search found no lower point or a non-finite loss")


def _clicks(rng, period_s: float, seconds: float = 4.0) -> np.ndarray:
    """Noise bursts of 20 ms every period_s over a quiet noise floor: a beat with nothing else in it."""
    x = noise(rng, seconds=seconds)[0] * 0.01
    burst = int(0.02 * SR)
    for start in range(0, x.size - burst, int(period_s * SR)):
        x[start:start + burst] += noise(rng, seconds=burst / SR)[0][:burst]
    return x


def test_onset_autocorrelation_peaks_at_the_beats_period_whatever_the_level(rng):
    from nodes._style import onsets

    net, hop = _net(False), pt.block_hop_seconds(1)
    beat = _clicks(rng, 0.5)
    curves = [onsets.onset_autocorrelation(onsets.onset_envelope(net.front_end(_power(x))[0, 0]), 60)
              for x in (beat, beat * 0.1)]
    lags = (np.arange(60) + 1) * hop
    beats = [np.abs(lags - k * 0.5) < hop for k in (1, 2)]  # a period falls between two frames
    assert all(float(curves[0][near].max()) > 0.5 for near in beats)
    assert float(curves[0][~(beats[0] | beats[1])].max()) < 0.15
    torch.testing.assert_close(curves[0], curves[1], rtol=1e-3, atol=1e-3)  # the front end sets the level


def test_onset_loss_is_1_at_the_content_0_at_the_style_and_reaches_the_log_magnitude(rng):
    from nodes._style import onsets

    net = _net(False)
    content, style = _clicks(rng, 0.5), _clicks(rng, 0.3)
    loss = onsets.OnsetRhythmLoss(net.front_end, _power(content), _power(style), 2.0, pt.block_hop_seconds(1))
    assert float(loss(_power(content))) == pytest.approx(1.0, rel=1e-5)
    assert float(loss(_power(style))) < 1e-10
    z = torch.log1p(_power(content).sqrt()).requires_grad_(True)
    loss(torch.expm1(z) ** 2).backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0


def test_onset_weight_adds_the_onset_loss_of_the_signal_it_returns(rng):
    """Beside the random-weight Gram only (no pretrained network built): the reported onset loss is that of
    what is heard, it falls, and the total is the Gram plus onset_weight times it."""
    from nodes._style import onsets

    c, s = (run_node(Stft, {"audio": Audio(x[None], SR)})[0]["spectrogram"] for x in (_clicks(rng, 0.5, 2.0),
                                                                                       _clicks(rng, 0.3, 2.0)))
    spec, rec, _ = run_node(FeatureStyle, {"content": c, "style": s}, iterations=4, alpha=0.0, beta=0.0,
                            random_beta=1.0, onset_weight=2.0, style_blocks=[2, 3], domain="consistent")
    h = rec["history"]
    assert h["onset_loss"][0] == pytest.approx(1.0, rel=1e-4) and h["onset_loss"][-1] < 0.99 * h["onset_loss"][0]
    np.testing.assert_allclose(h["loss"], np.array(h["random_style_loss"]) + 2.0 * np.array(h["onset_loss"]), rtol=1e-5)
    loss = onsets.OnsetRhythmLoss(_net(False).front_end, torch.from_numpy(c.linear_magnitude()[0]) ** 2,
                                  torch.from_numpy(s.linear_magnitude().mean(axis=0)) ** 2, 2.0, pt.block_hop_seconds(1))
    with torch.no_grad():
        heard = float(loss(torch.from_numpy(np.expm1(_reanalysed(spec["spectrogram"])).astype(np.float32)) ** 2))
    assert heard == pytest.approx(h["onset_loss"][-1], rel=1e-4)


@pytest.mark.parametrize("domain", ["consistent", "logmag"])
def test_a_trial_step_far_above_the_start_keeps_the_magnitude_finite(rng, domain):
    """A line search's trial step once put a bin at z 120: exp() overflowed float32 and the loss turned NaN.
    No bin of z reaches beyond the start's loudest + the headroom; below that the variable is untouched, gradient
    included."""
    from audiostyle_engine import settings
    from nodes._style import feature_opt as fo

    c, _ = _spectrograms(rng)
    variable = fo.Variable(domain, (c.n_fft, c.hop_length, c.win_length, c.window), c.length, c.phase[0])
    from nodes.feature_style import _content_signal

    z0 = variable.start(_content_signal(c, 0))
    far = z0.clone()
    far[100, 10] = 120.0
    assert torch.isfinite(variable.magnitude(far)).all()
    near = z0.clone()
    near[100, 10] = float(z0.max()) + settings.FEATURE_LOG_HEADROOM - 1
    leaf = near.clone().requires_grad_(True)
    bounded = variable._effective(leaf)
    torch.testing.assert_close(bounded.detach(), near, rtol=0, atol=0)
    bounded.sum().backward()  # the identity below the bound: a gradient of exactly 1 on every bin
    assert bool((leaf.grad == 1).all())
    if domain == "logmag":  # the magnitude is exp(z) − 1 itself: every bin as set
        torch.testing.assert_close(variable.magnitude(near), torch.expm1(near.clamp_min(0)), rtol=0, atol=0)


def test_a_step_that_leaves_the_variable_non_finite_is_undone_and_named():
    """A loss that turns NaN past a point sends torch's strong-Wolfe search on without bound; the result is
    the last finite iterate, and the history says why the run stopped there."""
    from nodes._style import feature_opt as fo

    def loss_fn(z):
        loss = ((z - 10.0) ** 2).sum()
        loss = torch.where((z > 3.0).any(), torch.full((), float("nan")), loss)
        zero = torch.zeros(())
        return loss, dict(content=zero, style=loss.detach(), random_style=zero, rhythm=zero, frame=zero, onset=zero,
                          texture=zero)

    cfg = fo.FeatureConfig("logmag", 0.0, 1.0, 0.0, iterations=5, tolerance=None, tolerance_window=10)
    z, h = fo.optimise(loss_fn, torch.zeros(4), cfg)
    assert torch.isfinite(z).all() and h["stopped"] == "non_finite"
    assert len(h["iteration"]) == len(h["loss"]) and all(np.isfinite(h["loss"]))
    assert float(loss_fn(z)[0]) == h["loss"][-1]  # the result is the last iterate the history reports
    with pytest.raises(ParameterError, match="not finite at the start"):
        fo.optimise(loss_fn, torch.full((4,), 5.0), cfg)


def test_a_non_finite_trial_goes_on_once_on_stall_has_changed_the_loss():
    """As with a stall: where on_stall changes the loss (a bf16 run going on in fp32), the run goes on from the
    last iterate with the changed loss instead of ending there."""
    from nodes._style import feature_opt as fo

    state = {"nan_above_3": True}

    def loss_fn(z):
        loss = ((z - 10.0) ** 2).sum()
        if state["nan_above_3"]:
            loss = torch.where((z > 3.0).any(), torch.full((), float("nan")), loss)
        zero = torch.zeros(())
        return loss, dict(content=zero, style=loss.detach(), random_style=zero, rhythm=zero, frame=zero, onset=zero,
                          texture=zero)

    def on_stall():
        state["nan_above_3"] = False
        return True

    cfg = fo.FeatureConfig("logmag", 0.0, 1.0, 0.0, iterations=8, tolerance=None, tolerance_window=10)
    z, h = fo.optimise(loss_fn, torch.zeros(4), cfg, on_stall=on_stall)
    assert h["stall_iteration"] is not None and h["stopped"] != "non_finite"
    assert float((z - 10.0).abs().max()) < 1e-4 and all(np.isfinite(h["loss"]))


def test_the_onset_loss_alone_loads_no_weights_and_runs_no_network(rng, monkeypatch):
    """The onset loss reads the front end only (mel filters and a log): no pretrained weights are needed or
    loaded, nothing is probed, and the run says that no network ran."""
    from audiostyle_engine import precision

    monkeypatch.setattr(pt, "load_weights", lambda *a, **k: pytest.fail("the onset loss needs no weights"))
    monkeypatch.setattr(precision, "cpu_conv_bf16_speedup", lambda *a, **k: pytest.fail("nothing to probe for"))
    c, s = (run_node(Stft, {"audio": Audio(x[None], SR)})[0]["spectrogram"] for x in (_clicks(rng, 0.5, 2.0),
                                                                                       _clicks(rng, 0.3, 2.0)))
    rec = run_node(FeatureStyle, {"content": c, "style": s}, iterations=3, alpha=0.0, beta=0.0, onset_weight=1.0,
                   domain="consistent", precision="auto")[1]
    h = rec["history"]
    assert rec["precision"] == "fp32" and rec["precision_reason"].startswith("no network runs")
    assert h["onset_loss"][-1] < h["onset_loss"][0] and h["loss"] == h["onset_loss"]


def test_smooth_frames_passes_a_slow_change_and_cancels_one_from_frame_to_frame(rng):
    """smooth_frames: the loss sees the start plus its change smoothed over time. A change constant in time passes
    unchanged (the window sums to 1, the edges repeat their own frame); one that flips sign every frame is gone
    inside the clip (a 3-frame Hann window, 1/4 1/2 1/4, sums +1 and −1 to 0), gradient included."""
    from nodes._style import feature_opt as fo
    from nodes.feature_style import _content_signal

    c, _ = _spectrograms(rng)
    args = (c.n_fft, c.hop_length, c.win_length, c.window)
    variable = fo.Variable("logmag", args, c.length, c.phase[0], smooth_frames=3)
    z0 = variable.start(_content_signal(c, 0))
    torch.testing.assert_close(variable.magnitude(z0 + 0.5), torch.expm1((z0 + 0.5).clamp_min(0)), rtol=1e-6, atol=1e-6)
    flips = torch.ones(z0.shape[1])
    flips[1::2] = -1.0
    leaf = (z0 + 0.5 * flips).requires_grad_(True)
    seen = variable._effective(leaf)
    torch.testing.assert_close(seen[:, 1:-1], z0[:, 1:-1], rtol=0, atol=1e-6)
    unsmoothed = fo.Variable("logmag", args, c.length, c.phase[0])
    unsmoothed.start(_content_signal(c, 0))
    assert float((unsmoothed._effective(leaf) - z0).abs().max()) == pytest.approx(0.5)
    (seen[:, 1:-1] * torch.randn_like(seen[:, 1:-1])).sum().backward()
    # a gradient reaches z, and along the flipping direction it is zero: the smoothing makes that change invisible
    assert float(leaf.grad.abs().max()) > 0
    assert float((leaf.grad * flips).sum(dim=1).abs().max()) < 1e-4


def test_smooth_frames_makes_the_node_change_its_start_slowly(rng):
    """The node's output (logmag: the smoothed variable itself) differs from its start by a change that moves less
    from frame to frame with smooth_frames 9 than without; in the consistent domain the run still lowers its loss.
    The param is refused with domain waveform before anything runs."""
    from nodes._style import feature_opt as fo

    c, s = _spectrograms(rng)

    def run(domain, **params):
        return run_node(FeatureStyle, {"content": c, "style": s}, weights="random", iterations=3, domain=domain,
                        alpha=0.0, **params)[:2]

    def roughness(**params):
        change = run("logmag", **params)[0]["spectrogram"].magnitude[0] - c.magnitude[0]
        return float(np.abs(np.diff(change, axis=1)).mean() / (np.abs(change).mean() + 1e-12))

    assert roughness(smooth_frames=9) < 0.5 * roughness()
    h = run("consistent", smooth_frames=9)[1]["history"]
    assert h["loss"][-1] < h["loss"][0]
    params = {p.name: p.default for p in FeatureStyle.spec.params}
    problems = FeatureStyle.check_params({**params, "weights": "random", "smooth_frames": 9, "domain": "waveform"})
    assert [p.param for p in problems] == ["smooth_frames"]
    with pytest.raises(ValueError, match="spectrogram domain"):
        fo.Variable("waveform", (c.n_fft, c.hop_length, c.win_length, c.window), c.length, c.phase[0], smooth_frames=9)


def test_trailing_smoothing_starts_a_change_where_it_was_put_and_lets_it_die_away(rng):
    """smooth_shape trailing: a change put at one frame reaches no frame before it (the centred window fades it in
    four frames early with 9 frames), is largest at its own frame and falls after it; a change constant in time
    passes unchanged, and one that flips sign every frame keeps at most a tenth of its size."""
    from nodes._style import feature_opt as fo
    from nodes.feature_style import _content_signal

    c, _ = _spectrograms(rng)
    args = (c.n_fft, c.hop_length, c.win_length, c.window)

    def seen_change(shape, change_of):
        variable = fo.Variable("logmag", args, c.length, c.phase[0], smooth_frames=9, smooth_shape=shape)
        z0 = variable.start(_content_signal(c, 0))
        # below the headroom clamp: the change is read off without the clamp's cut
        z0 = variable._z_start = z0 - 2.0
        return (variable._effective(z0 + change_of(z0)) - z0)[0]

    at = 20

    def hit(z0):
        change = torch.zeros_like(z0)
        change[:, at] = 1.0
        return change

    trailing, centred = seen_change("trailing", hit), seen_change("centred", hit)
    assert float(trailing[:at].abs().max()) == 0.0
    assert float(centred[at - 4:at].min()) > 0.0
    after = trailing[at:at + 9]
    assert int(after.argmax()) == 0 and bool((after[1:] <= after[:-1] + 1e-7).all()) and float(after.sum()) == pytest.approx(1.0)
    torch.testing.assert_close(seen_change("trailing", lambda z0: torch.full_like(z0, 0.5)), torch.full_like(trailing, 0.5))
    flips = torch.ones(trailing.shape[0])
    flips[1::2] = -1.0
    flutter = seen_change("trailing", lambda z0: 0.5 * flips.expand_as(z0))
    assert float(flutter[9:].abs().max()) <= 0.1 * 0.5 + 1e-6
    value, problem = FeatureStyle.spec.param("smooth_shape").coerce("causal")
    assert problem is not None and "trailing" in problem
