"""bench/feasibility.py: its torch copies of the bench's measures are the bench's measures, and its optimisation
lowers the objective position while holding the start's content correlation. Small generated clips."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine import quality
from tests.helpers.bench_scripts import bench_script

SR = 44100


@pytest.fixture(scope="module")
def feasibility():
    with bench_script("feasibility") as module:
        yield module


def _clips(seconds: float = 1.5):
    rng = np.random.default_rng(3)
    t = np.arange(int(SR * seconds)) / SR
    content = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    hits = (np.sin(2 * np.pi * 4 * t) > 0.9).astype(float)  # a 4 Hz burst pattern
    style = hits * rng.standard_normal(t.size) * 0.5
    other = np.roll(style, 2000)
    return content, style, other


def test_torch_measures_equal_the_bench_measures(feasibility):
    import torch

    m = feasibility.TorchMeasures()
    content, style, _ = _clips()
    x = content + 0.3 * style
    expected = quality.style_distances(x, style, SR)
    tx, ts = torch.tensor(x), torch.tensor(style)
    got = {k: float(v) for k, v in m.distances(m.log_mel(tx), m.log_mel(ts)).items()}
    assert set(got) == set(quality.STYLE_MEASURES)
    for k in quality.STYLE_MEASURES:
        assert got[k] == pytest.approx(expected[k], rel=1e-6), k
    corr = float(m.correlation(m.log_spectrogram(tx), m.log_spectrogram(torch.tensor(content))))
    assert corr == pytest.approx(quality.content_correlation(x, content), abs=1e-6)


def test_optimisation_lowers_the_objective_position_at_the_starts_content_correlation(feasibility):
    content, style, other = _clips()
    start = 0.9 * quality.equal_rms(content) + 0.1 * quality.equal_rms(other)
    y, info = feasibility.optimise_against_the_measures(start, content, style, steps=20)
    assert y.shape == start.shape and np.isfinite(y).all()
    assert info["position_after"] < info["position_before"] - 0.005
    # what the optimiser reports is what the bench measures on the returned signal
    measured = np.mean(list(quality.positions(quality.style_distances(y, style, SR),
                                              quality.style_distances(content, style, SR)).values()))
    assert measured == pytest.approx(info["position_after"], abs=1e-6)
    start_corr = quality.content_correlation(start, content)
    assert quality.content_correlation(y, content) > start_corr - 0.01  # held at the floor, not traded away
