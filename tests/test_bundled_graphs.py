"""The bundled graphs run end to end: the example at full size (about two minutes on 2 cores), the paper's
graph at a reduced size. Both slow: pytest -m slow."""
from __future__ import annotations


import numpy as np
import pytest

from tests.helpers import REPO


def log_spectrogram(x: np.ndarray) -> np.ndarray:
    import librosa

    return np.log1p(np.abs(librosa.stft(x, n_fft=2048, hop_length=512)))


@pytest.mark.slow
def test_bundled_example_styles_the_melody(tmp_path):
    from audiostyle_engine.run import run_graph
    from tests.helpers.audio import read_audio

    out = tmp_path / "example.wav"
    result = run_graph(REPO / "graphs/example.yaml", {"out": str(out)})
    history = result.records["styled"]["history"]
    assert history["loss"][-1] <= history["loss"][0] / 3
    styled, sr = read_audio(out)
    content, _ = read_audio(REPO / "examples/content.flac")
    style, _ = read_audio(REPO / "examples/style.flac")
    n = styled.shape[1]
    s_out, s_content, s_style = (log_spectrogram(x[0, :n]) for x in (styled, content, style))
    corr = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert corr(s_out, s_content) > corr(s_out, s_style)


PAPER_NUMBERS = {("content_in", "duration"): 10.0, ("style_in", "duration"): 20.0, ("content_44k", "sample_rate"): 44100,
                 ("content_spec", "n_fft"): 2048, ("content_spec", "scale"): "log1p", ("styled", "n_filters"): 4096,
                 ("styled", "kernel_width"): 11, ("styled", "alpha"): 0.1, ("styled", "iterations"): 500,
                 ("styled_audio", "griffin_lim_iterations"): 500, ("save", "bit_depth"): 16}
REDUCED = {("styled", "n_filters"): 48, ("styled", "iterations"): 8, ("styled_audio", "griffin_lim_iterations"): 8}


@pytest.mark.slow
def test_paper_graph_runs_end_to_end_at_a_reduced_size(tmp_path):
    """graphs/paper.yaml as written (its numbers checked), then run with fewer filters and iterations on
    short generated clips: every node of the paper's pipeline runs, and the output is what it promises."""
    import dataclasses

    from audiostyle_engine.run import prepare, run_graph
    from tests.helpers.audio import SR, chirp, noise, read_audio, write_audio

    rng = np.random.default_rng(5)
    content = write_audio(tmp_path / "content.wav", chirp(seconds=1.5))
    style = write_audio(tmp_path / "style.wav", noise(rng, sr=22050, seconds=2.0, channels=2), sr=22050)
    out = tmp_path / "paper.wav"
    graph = prepare(REPO / "graphs" / "paper.yaml", {"content": content, "style": style, "out": out})
    assert {key: graph.nodes[key[0]].params[key[1]] for key in PAPER_NUMBERS} == PAPER_NUMBERS
    nodes = dict(graph.nodes)
    for (node_id, param), value in REDUCED.items():
        nodes[node_id] = dataclasses.replace(nodes[node_id], params={**nodes[node_id].params, param: value})
    result = run_graph(dataclasses.replace(graph, nodes=nodes), device="cpu", seed=0)

    assert result.outputs == [out]
    history = result.records["styled"]["history"]
    assert len(history["loss"]) >= 2 and history["loss"][-1] < history["loss"][0]
    samples, sr = read_audio(out)
    assert sr == SR and samples.shape == (1, int(1.5 * SR))  # mono, the content's length (ISTFT keeps it)
    assert np.all(np.isfinite(samples))
    assert 20 * np.log10(np.abs(samples).max()) == pytest.approx(-1.0, abs=0.05)  # normalize peak_db -1, 16 bit
    import soundfile

    assert soundfile.info(str(out)).subtype == "PCM_16"
