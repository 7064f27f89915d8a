"""A run's report holds what the run did: the recorded loss history as plotted, the signals as kept,
quality numbers between the trivial outputs, parameters and timings; and it is written safely."""
from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from tests.helpers.tiny_runs import FX_GRAPH, make_inputs, tiny_run  # noqa: F401 (fixture)

from audiostyle_engine.errors import ReportError
from audiostyle_engine.report import build_report, plan_report, run_with_report
from audiostyle_engine.run import prepare


def load_metrics(run) -> dict:
    return json.loads((run.report_dir / "metrics.json").read_text())


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as f:
        raw = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        return raw.reshape(-1, f.getnchannels()).T / 32767.0, f.getframerate()


def test_plan_finds_content_style_styled_branches_and_output(tiny_run):
    roles = {(s.role, s.node) for s in plan_report(tiny_run.graph).signals}
    assert roles == {("content", "c"), ("style", "s"), ("styled", "back"), ("branch", "dry"), ("branch", "wet"),
                     ("output", "blend")}


def test_metrics_hold_the_recorded_history_as_plotted_and_the_loss_falls(tiny_run):
    metrics = load_metrics(tiny_run)
    recorded = tiny_run.reported.result.records["st"]["history"]
    opt = metrics["optimisation"]["st"]
    assert opt["history"] == recorded
    for key in ("loss", "content_loss", "style_loss"):
        drawn = opt["plotted"][key]
        kept = [(i, v) for i, v in zip(recorded["iteration"], recorded[key]) if v > 0]
        assert list(zip(drawn["x"], drawn["y"])) == kept
    assert opt["plotted"]["content_correlation"]["y"] == recorded["content_correlation"]
    loss = np.array(recorded["loss"])
    assert len(loss) >= 10
    assert loss[-1] < 0.5 * loss[0]
    assert np.median(loss[len(loss) // 2:]) < np.median(loss[:len(loss) // 2])


def test_loss_and_correlation_plots_show_their_lines(tiny_run):
    import matplotlib.image

    def has_colour(png, rgb):
        pixels = matplotlib.image.imread(str(tiny_run.report_dir / png))[..., :3]
        return int(np.sum(np.all(np.abs(pixels - np.array(rgb) / 255) < 0.02, axis=-1)))

    plots = load_metrics(tiny_run)["optimisation"]["st"]["plots"]
    assert has_colour(plots["loss"], (0x1F, 0x77, 0xB4)) > 100  # the total-loss line (matplotlib's first colour)
    assert has_colour(plots["correlation"], (0x2C, 0xA0, 0x2C)) > 100  # the correlation line
    assert has_colour(plots["correlation"], (0x1F, 0x77, 0xB4)) == 0


def test_players_hold_the_kept_signals_and_the_written_output(tiny_run):
    from pedalboard.io import AudioFile

    metrics = load_metrics(tiny_run)
    entries = {e["role"] + ":" + e["key"]: e for e in metrics["audio"]}
    assert {e["role"] for e in entries.values()} == {"content", "style", "styled", "branch", "output", "layering"}
    output = next(e for e in entries.values() if e["role"] == "output")
    played, rate = read_wav(tiny_run.report_dir / output["audio"])
    with AudioFile(str(tiny_run.out_path)) as f:
        written = f.read(f.frames)
    assert rate == 22050 and played.shape == written.shape
    assert np.max(np.abs(played - written)) < 1e-3
    content = next(e for e in entries.values() if e["role"] == "content")
    played, _ = read_wav(tiny_run.report_dir / content["audio"])
    kept = tiny_run.reported.result.values["c"]["audio"].samples
    assert np.max(np.abs(played - kept)) < 1e-3
    for e in entries.values():
        assert (tiny_run.report_dir / e["spectrogram"]).stat().st_size > 5000
        assert e["seconds"] == pytest.approx(1.0, abs=0.01)


def test_quality_numbers_place_the_output_between_content_and_style(tiny_run):
    rows = {r["label"]: r for r in load_metrics(tiny_run)["quality"]["tables"]["st"]}
    content, style = rows["content itself"], rows["style itself"]
    assert content["content_correlation"] == 1.0 and style["style_distance_db"] == 0.0
    assert content["style_distance_db"] > 10  # a chirp and gated noise are far apart
    assert [r["role"] for r in rows.values()] == ["content", "style", "styled", "branch", "branch", "output"]
    output = next(r for r in rows.values() if r["role"] == "output")
    assert style["content_correlation"] < output["content_correlation"] < 1.0
    assert 0.0 < output["style_distance_db"] < content["style_distance_db"]
    assert 0.0 < output["style_position"] < 1.0
    summary = load_metrics(tiny_run)["summary"]
    assert summary["style_position"] == output["style_position"] and summary["iterations"] == 20


def test_each_result_is_judged_against_the_curve_and_its_placebos(tiny_run):
    from audiostyle_engine.report import quality

    metrics = load_metrics(tiny_run)
    frontier = metrics["quality"]["frontiers"]["st"]
    lo, hi = frontier["placebo_margin_range"]
    assert lo <= hi and len(frontier["placebos"]) == 6
    assert (lo, hi) == pytest.approx(quality.margin_range(frontier["placebos"], frontier["curve"]))
    page = (tiny_run.report_dir / "report.html").read_text()
    verdicts = page.split("<h3>Against layering</h3>")[1].split("</p>")[0]
    assert verdicts.count("the same mixes with the style placed elsewhere: ") == 4  # styled, 2 branches, output
    assert f"{lo:+.3f} to {hi:+.3f}" in verdicts


def test_the_plain_mix_that_keeps_the_content_as_well_plays_beside_the_output_at_its_loudness(tiny_run):
    import pyloudnorm

    from audiostyle_engine import settings
    from audiostyle_engine.report import quality

    metrics = load_metrics(tiny_run)
    matched = metrics["quality"]["frontiers"]["st"]["matched_mix"]
    rows = {r["role"]: r for r in metrics["quality"]["tables"]["st"]}
    assert matched["result"] == rows["output"]["label"] and 0.0 < matched["fraction"] < 1.0
    # measured again from the two files a listener plays, with the report's own measure
    entries = {e["role"]: e for e in metrics["audio"]}
    assert entries["layering"]["audio"] == matched["audio"]
    mixed, rate = read_wav(tiny_run.report_dir / matched["audio"])
    output, out_rate = read_wav(tiny_run.report_dir / entries["output"]["audio"])
    content, c_rate = read_wav(tiny_run.report_dir / entries["content"]["audio"])
    ref = quality.to_reference(content, c_rate, c_rate)
    corr = quality.content_correlation(quality.to_reference(mixed, rate, c_rate), ref)
    assert corr == pytest.approx(rows["output"]["content_correlation"], abs=2 * settings.QUALITY_MATCHED_MIX_TOLERANCE)
    assert corr == pytest.approx(matched["content_correlation"], abs=1e-3)
    loud = [pyloudnorm.Meter(r).integrated_loudness(x.T) for x, r in ((mixed, rate), (output, out_rate))]
    assert loud[0] == pytest.approx(loud[1], abs=0.2)
    verdicts = (tiny_run.report_dir / "report.html").read_text().split("<h3>Against layering</h3>")[1].split("</p>")[0]
    assert f"({100 * matched['fraction']:.0f} % style) that keeps the content as well as" in verdicts


def test_report_lists_params_timings_and_device(tiny_run):
    metrics = load_metrics(tiny_run)
    assert metrics["device"] == "cpu" and metrics["seed"] == 3
    assert metrics["graph"]["nodes"]["st"]["params"]["n_filters"] == 64
    assert metrics["graph"]["nodes"]["blend"]["inputs"] == {"a": "dry", "b": "wet"}
    assert set(metrics["timings"]) == set(tiny_run.graph.order)
    # Which node is slowest depends on the machine and on what was imported before (run alone, the first
    # node's imports cost seconds): check what is recorded, not a ranking of times.
    assert all(isinstance(v, float) and v >= 0 for v in metrics["timings"].values())
    page = (tiny_run.report_dir / "report.html").read_text()
    assert "n_filters: 64" in page and "style_transfer" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_style_progress_events_carry_loss_and_eta(tiny_run):
    steps = [e for e in tiny_run.events if e.node_id == "st" and e.done is not None]
    assert steps and all(isinstance(e.values["loss"], float) for e in steps)
    late = [e for e in steps if e.done and e.done > 5]
    assert late and all(e.eta is not None and e.eta >= 0 for e in late)


def test_a_folder_holding_other_files_is_refused_before_the_run(tmp_path):
    make_inputs(tmp_path)
    (tmp_path / "g.yaml").write_text(FX_GRAPH)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me")
    graph = prepare(tmp_path / "g.yaml")
    with pytest.raises(ReportError, match="already holds other files"):
        run_with_report(graph, busy)
    assert (busy / "mine.txt").read_text() == "keep me"
    assert not (tmp_path / "out" / "fx.wav").exists()  # refused before running, nothing written
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ReportError, match="is a file"):
        run_with_report(graph, tmp_path / "afile")


def test_graph_report_key_and_rebuild_replace_the_old_report(tmp_path):
    make_inputs(tmp_path)
    (tmp_path / "g.yaml").write_text(FX_GRAPH)
    graph = prepare(tmp_path / "g.yaml")
    first = run_with_report(graph)  # the graph's own report: {dir: ...}
    folder = tmp_path / "fx_report"
    assert first.report == folder / "report.html" and first.report.exists()
    metrics = first.metrics
    assert [e["role"] for e in metrics["audio"]] == ["input", "output"]
    assert metrics["optimisation"] == {} and metrics["quality"]["tables"] == {}
    (folder / "stale.txt").write_text("from an older report")
    page, _ = build_report(folder, graph, first.result)
    assert page.exists() and not (folder / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fx_report")]  # no temp folders left
    assert run_with_report(graph, use_graph_report=False).report is None


def test_a_matched_mix_that_would_clip_at_the_outputs_loudness_is_turned_down_and_says_so():
    from audiostyle_engine.report import quality
    from audiostyle_engine.report.build import MATCHED_MIX_PEAK, _matched_mix_clip

    sr = 22050
    t = np.arange(2 * sr) / sr
    content = (0.5 * np.sin(2 * np.pi * 220 * t))[None]
    clicks = np.zeros(t.size)
    clicks[:: sr // 4] = 1.0  # four clicks a second: a huge crest factor
    ref = quality.QualityReference.build(content, sr, clicks[None], sr)
    hiss = np.random.default_rng(0).standard_normal(t.size)
    for level, clipping in ((0.9, True), (0.05, False)):  # an output near full scale, and a quiet one
        styled = np.sin(2 * np.pi * 220 * t) + 0.05 * hiss  # as far from the content as a mix with a few clicks
        output = (level * styled / np.max(np.abs(styled)))[None]
        measured = [("output o.wav", output, sr)]
        rows = ref.rows(measured)
        clip, facts = _matched_mix_clip(ref, measured, ["content", "style", "output"], rows, "st", set())
        assert 0 < facts["fraction"] < 1 and clip.role == "layering"
        assert np.max(np.abs(clip.samples)) <= MATCHED_MIX_PEAK + 1e-6
        assert bool(facts["turned_down_db"] > 1.0) is clipping
        if not clipping:
            import pyloudnorm

            meter = pyloudnorm.Meter(sr)
            assert meter.integrated_loudness(clip.samples[0].astype(np.float64)) == pytest.approx(
                meter.integrated_loudness(output[0]), abs=0.1)


def test_loss_plot_draws_every_declared_series_and_lists_only_those_with_values(tmp_path, monkeypatch):
    """feature_style declares seven loss series; the plot once had four line styles and zip() dropped the rest."""
    from audiostyle_engine.report import plots
    from audiostyle_engine.spec import IterationRecord

    legends = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: (
        legends.append([t.get_text() for t in fig.axes[0].get_legend().get_texts()]), save(fig, path)))

    keys = [f"s{i}" for i in range(6)]
    declared = IterationRecord("history", losses=tuple((k, f"series {k}") for k in keys))
    history = {"iteration": [0, 1, 2], **{k: [3.0 - i * 0.1, 2.0, 1.0] for i, k in enumerate(keys)}}
    history["s3"] = [0.0, 0.0, 0.0]  # a term the run did not weigh
    drawn = plots.plot_losses(history, declared, tmp_path / "loss.png", "t")
    assert set(drawn) == set(keys)
    assert drawn["s5"] == {"x": [0.0, 1.0, 2.0], "y": [2.5, 2.0, 1.0]} and drawn["s3"] == {"x": [], "y": []}
    assert legends == [[f"series {k}" for k in keys if k != "s3"]]  # the empty series is not listed
    assert (tmp_path / "loss.png").stat().st_size > 0
