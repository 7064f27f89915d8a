"""The style_transfer node's scale options through a real graph run: style cache, several styles, stereo."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.errors import AudiostyleError
from audiostyle_engine.run import run_graph
from tests.helpers.audio import chirp, noise, sine

GRAPH = """
nodes:
  c_in: {{type: load, path: {content}}}
  c_spec: {{type: stft, inputs: {{audio: c_in}}, n_fft: 256, hop_length: 64}}
{styles}
  styled:
    type: style_transfer
    inputs: {{content: c_spec, {style_inputs}}}
    n_filters: 24
    kernel_width: 5
    iterations: 3
    min_seconds: 0.2
{extra}
"""


def graph(tmp_path, content, styles, extra=""):
    style_nodes, inputs = [], []
    for i, path in enumerate(styles):
        style_nodes.append(f"  s{i}_in: {{type: load, path: {path}}}\n"
                           f"  s{i}_spec: {{type: stft, inputs: {{audio: s{i}_in}}, n_fft: 256, hop_length: 64}}")
        inputs.append(f"{'style' if i == 0 else f'style_{i + 1}'}: s{i}_spec")
    text = GRAPH.format(content=content, styles="\n".join(style_nodes), style_inputs=", ".join(inputs),
                        extra="\n".join("    " + line for line in extra.splitlines()))
    path = tmp_path / f"g{len(list(tmp_path.glob('g*.yaml')))}.yaml"
    path.write_text(text)
    return path


def test_second_file_with_the_same_style_reuses_the_cached_targets(tmp_path, wav_file, rng):
    style = wav_file("style.wav", noise(rng, seconds=0.5))
    first = wav_file("a.wav", sine(seconds=0.5))
    second = wav_file("b.wav", chirp(seconds=0.5))
    cache = tmp_path / "cache"
    runs = [run_graph(graph(tmp_path, c, [style]), device="cpu", seed=0, cache_dir=cache, keep={"styled"})
            for c in (first, second)]
    assert runs[0].records["styled"]["style_cache"] == {**runs[0].records["styled"]["style_cache"], "hits": 0, "misses": 1}
    assert runs[1].records["styled"]["style_cache"]["hits"] == 1
    assert runs[1].records["styled"]["style_cache"]["misses"] == 0
    assert len(list((cache / "style_targets").glob("*.pt"))) == 1
    # The cached target gives the same result as computing it afresh.
    fresh = run_graph(graph(tmp_path, second, [style]), device="cpu", seed=0, keep={"styled"})
    np.testing.assert_allclose(runs[1].values["styled"]["spectrogram"].magnitude,
                               fresh.values["styled"]["spectrogram"].magnitude, rtol=1e-5, atol=1e-6)


def test_weighted_styles_and_stereo_content(tmp_path, wav_file, rng):
    content = wav_file("c.wav", np.concatenate([sine(seconds=0.5), chirp(seconds=0.5)]))
    styles = [wav_file("s1.wav", noise(rng, seconds=0.5)), wav_file("s2.wav", sine(hz=880, seconds=0.6))]
    run = run_graph(graph(tmp_path, content, styles, "style_weights: [3, 1]\nextra_kernel_widths: [3]"),
                    device="cpu", seed=0, keep={"styled"})
    rec = run.records["styled"]
    assert len(rec["channel_histories"]) == 2
    assert [c["mode"] for c in rec["processing"]["channels"]] == ["whole", "whole"]
    out = run.values["styled"]["spectrogram"]
    assert out.magnitude.shape[0] == 2 and out.extras["style_sources"] and len(out.extras["style_sources"]) == 2
    assert all(h["loss"][-1] < h["loss"][0] for h in rec["channel_histories"])


def test_style_weights_must_match_the_connected_styles(tmp_path, wav_file, rng):
    content = wav_file("c.wav", sine(seconds=0.5))
    style = wav_file("s.wav", noise(rng, seconds=0.5))
    with pytest.raises(AudiostyleError, match="style_weights lists 2 weights for 1 connected styles"):
        run_graph(graph(tmp_path, content, [style], "style_weights: [1, 2]"), device="cpu", seed=0)
