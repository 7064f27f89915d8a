"""--executor ray on a local Ray instance (skipped when Ray, an optional extra, is not installed)."""
from __future__ import annotations

import numpy as np
import pytest

from audiostyle_engine.modes.coordinator import run_batch
from audiostyle_engine.modes.plan import Plan
from tests.helpers.audio import read_audio, sine, write_audio
from tests.helpers.folders import journal_rows, partial_files
from tests.helpers.graphs import half_gain_graph

ray = pytest.importorskip("ray")


def test_ray_executor_processes_a_small_folder(tmp_path):
    from audiostyle_engine.modes.ray_pool import RayExecutor

    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    names = ["one.wav", "sub/two.wav", "sub/thrée.wav"]
    for i, rel in enumerate(names):
        write_audio(src / rel, sine(hz=300 + 100 * i, seconds=0.3))
    (src / "bad.wav").write_bytes(b"not audio at all")
    executor = RayExecutor(workers=1)
    try:
        results = run_batch(Plan.create(half_gain_graph(tmp_path), src, out), sorted(src.rglob("*.wav")), executor)
    finally:
        executor.shutdown()
    assert {r.rel: r.status for r in results} == {**{rel: "done" for rel in names}, "bad.wav": "failed"}
    for rel in names:
        got, _ = read_audio(out / rel)
        np.testing.assert_allclose(got, 0.5 * read_audio(src / rel)[0], atol=1e-4)
    assert "cannot decode" in (out / "bad.wav.error.txt").read_text()
    assert journal_rows(out)["sub/two.wav"]["attempts"] == 1
    assert partial_files(out) == []
