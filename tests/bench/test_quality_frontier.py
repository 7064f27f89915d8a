"""bench/quality.py's mix frontier and its graphs: mechanics on made-up rows and tiny clips, not quality numbers."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from tests.helpers.bench_scripts import bench_script


@pytest.fixture(scope="module")
def bench():
    with bench_script("quality") as module:
        yield module


def _rows():
    # content at (1, 1), mixes along a straight line to the style excerpt at (0, 0)
    refs = [("content", 1.0), ("mix20", 0.8), ("mix50", 0.5), ("mix80", 0.2), ("style*", 0.0)]
    rows = [{"pair": "a+b", "config": c, "content_correlation": x, "position": x, "tagger_ratio": x ** 2}
            for c, x in refs]
    rows.append({"pair": "a+b", "config": "out/gl", "content_correlation": 0.65, "position": 0.45,
                 "tagger_ratio": 0.6})
    return rows


def test_margins_are_measured_against_the_mix_curve_at_the_outputs_content_correlation(bench):
    rows = _rows()
    bench.add_frontier(rows)
    out = rows[-1]
    assert out["objective_margin"] == pytest.approx(0.45 - 0.65)  # the line y = x
    # tagger frontier: linear between the mix20 (0.8, 0.64) and mix50 (0.5, 0.25) points
    assert out["tagger_margin"] == pytest.approx(0.6 - (0.25 + (0.65 - 0.5) / 0.3 * (0.64 - 0.25)))
    assert all(abs(r["objective_margin"]) < 1e-12 for r in rows[:-1])  # the curve's own points sit on it


def test_nongram_margin_reads_only_the_measures_other_than_the_grams(bench):
    """The position over mel covariance, spectral envelope and rhythm, against the same mix curve: an
    output that beats layering only on the random-conv Grams has a nongram margin of 0."""
    refs = [("content", 1.0), ("mix50", 0.5), ("style*", 0.0)]
    rows = [{"pair": "a+b", "config": c, "content_correlation": x, "mel_covariance": 1 + x, "spectral_envelope": 1 + x,
             "rhythm": 1 + x, "gram_w3": 1 + x} for c, x in refs]
    rows.append({"pair": "a+b", "config": "out/gl", "content_correlation": 0.5, "mel_covariance": 1.5,
                 "spectral_envelope": 1.5, "rhythm": 1.2, "gram_w3": 1.0})
    bench.add_frontier(rows)
    # positions are fractions of the content's distances (2): the mix50's is 0.75 on each of the three
    assert rows[-1]["position_nongram"] == pytest.approx((0.75 + 0.75 + 0.6) / 3)
    assert rows[-1]["nongram_margin"] == pytest.approx((0.75 + 0.75 + 0.6) / 3 - 0.75)
    assert all(abs(r["nongram_margin"]) < 1e-12 for r in rows[:-1])


def test_each_measures_margin_says_which_one_holds_a_pair_back_and_their_mean_is_the_objective_margin(bench):
    """An output below the mix curve on every measure but rhythm: its rhythm margin is the positive one, the
    summary counts that pair above the curve on rhythm only, and the six margins average to the objective one."""
    from audiostyle_engine import quality

    measures = quality.STYLE_MEASURES
    refs = [("content", 1.0), ("mix20", 0.8), ("mix50", 0.5), ("style*", 0.0)]
    rows = [{"pair": "a+b", "config": c, "content_correlation": x, **{m: 1 + x for m in measures}} for c, x in refs]
    out = {"pair": "a+b", "config": "out/gl", "content_correlation": 0.8, **{m: 1.4 for m in measures}}
    out["rhythm"] = 1.9
    rows.append(out)
    for r in rows:
        r["position"] = float(np.mean(list(quality.positions(r, rows[0]).values())))
    bench.add_frontier(rows)
    curve = 1.8 / 2  # the mix20's position on every measure (a fraction of the content's distance, 2)
    assert out["margin_rhythm"] == pytest.approx(1.9 / 2 - curve)
    assert all(out[f"margin_{m}"] == pytest.approx(1.4 / 2 - curve) for m in measures if m != "rhythm")
    assert np.mean([out[f"margin_{m}"] for m in measures]) == pytest.approx(out["objective_margin"])
    assert all(abs(r[f"margin_{m}"]) < 1e-12 for r in rows[:-1] for m in measures)  # the curves' own points
    s = bench.summarise(rows)["out/gl"]
    assert s["above_rhythm"] == 1 and all(s[f"above_{m}"] == 0 for m in measures if m != "rhythm")


def test_summary_keeps_the_worst_pair(bench):
    rows = _rows() + [dict(r, pair="c+d") for r in _rows()]
    rows[-1]["position"] = 0.9  # the second pair's output is worse than layering
    bench.add_frontier(rows)
    s = bench.summarise(rows)["out/gl"]
    assert s["worst_objective_margin"] == pytest.approx(0.9 - 0.65)
    assert s["objective_margin"] == pytest.approx(((0.45 - 0.65) + (0.9 - 0.65)) / 2)


def test_mixes_are_at_equal_rms(bench, rng):
    content = rng.standard_normal(1000) * 5.0
    style = rng.standard_normal(1200) * 0.01  # quieter and longer: scaled up and cut
    for f in bench.MIX_FRACTIONS:
        m = bench.mix(content, style, f)
        assert m.size == content.size
        c_part = (1 - f) * bench.quality.equal_rms(content)
        np.testing.assert_allclose(np.sqrt(np.mean((m - c_part) ** 2)), f * bench.quality.REFERENCE_RMS, rtol=1e-6)
        np.testing.assert_allclose(np.sqrt(np.mean(c_part ** 2)), (1 - f) * bench.quality.REFERENCE_RMS, rtol=1e-6)


@pytest.mark.parametrize("config", ["match", "wave_alpha1+match", "pre_logmag", "pre_logmag+match_envelope",
                                    "morph05", "morph05+pre_a03", "balanced+layer06", "morph05+layer06",
                                    "balanced_b234_g4+layer06", "morph03+balanced_b234_g4+layer06", "holdc_b234_s10",
                                    "holdc_b234_s10+layer06", "balanced_b234_cons+layer06",
                                    "holdc_b234_s20f10_rb3+layer06"])
def test_each_kind_of_config_makes_a_valid_graph(bench, tmp_path, wav_file, rng, config):
    from audiostyle_engine.run import prepare

    c = wav_file("c.wav", np.zeros((1, 4410), dtype=np.float32) + 0.1)
    s = wav_file("s.wav", np.zeros((1, 4410), dtype=np.float32) + 0.1)
    params, match, morph, phases, layer = bench.plan(config, {"n_filters": 8, "iterations": 1}, ("gl",))
    path = tmp_path / "g.yaml"
    layer = None if layer is None else (layer, s)
    path.write_text(bench.graph_yaml(c, s, tmp_path, params, phases, 2, match, morph, layer, layer_file=s))
    prepare(path)  # raises with every problem if the graph is wrong
    text = path.read_text()
    assert ("type: match" in text) == ("match" in config)
    assert ("type: feature_style" in text) == (config in bench.FEATURE)
    assert ("type: layer" in text) == ("layer" in config or config.startswith("hold"))
    # a held-content start is the layer of the other excerpt under the content, not of the reference
    assert ("pre: {type: layer, inputs: {audio: c_in, reference: l_in}" in text) == config.startswith("hold")
    assert ("hold_content: true" in text) == config.startswith("hold")
    assert ("domain: \"consistent\"" in text) == ("holdc" in config or "_cons" in config)
    assert ("type: morph" in text) == config.startswith("morph")
    assert ("start: pre_spec" in text) == (config in bench.FEATURE_PRE)
    assert ("gram_bands: 4" in text) == ("_g4" in config)
    # a floor apart from the start: the lighter layer of the same excerpt, wired to feature_style's floor input
    assert ("flo: {type: layer, inputs: {audio: c_in, reference: l_in}, amount: 0.1}" in text) == ("f10" in config)
    assert ("floor: flo_spec" in text) == ("f10" in config)


def test_an_excerpt_picks_every_clip_of_a_pair_and_the_layer_is_never_the_reference(bench):
    class Clips:  # each clip says which recording and which excerpt it is
        @staticmethod
        def make(name, seconds, seed=0):
            return np.array([hash(name) % 1000, seed, seconds], dtype=np.float64)

    for excerpt in (0, 1, 2):
        content, style, other = bench.clips_of(Clips, ("piano", "amen"), 10.0, 20.0, excerpt)
        assert content[0] == hash("piano") % 1000 and style[0] == other[0] == hash("amen") % 1000
        assert content[1] == style[1] == excerpt and other[1] == excerpt + 1
        assert content[2] == 10.0 and style[2] == 20.0 and other[2] == 10.0  # the layer has the content's length


def test_the_other_excerpt_never_shares_a_frame_with_a_longer_reference(bench):
    import devset  # bench/ is on the path while the fixture lives

    class OneRecording:  # 30 s, cut as the devset cuts its clips
        excerpt_range = staticmethod(devset.excerpt_range)

        @staticmethod
        def clip_frames(name):
            return 30 * devset.SR

    for content_s, style_s, excerpt in ((10, 10, 0), (10, 20, 0), (5, 20, 0), (3, 4, 0), (3, 4, 1), (10, 10, 2)):
        seed = bench.other_seed(OneRecording, "amen", content_s, style_s, excerpt)
        ref = devset.excerpt_range(30 * devset.SR, style_s, excerpt)
        start, stop = devset.excerpt_range(30 * devset.SR, content_s, seed)
        assert stop <= ref[0] or start >= ref[1], (content_s, style_s, excerpt)  # before: 3 s/4 s overlapped
    assert bench.other_seed(OneRecording, "amen", 10, 10, 0) == 1  # equal lengths: the next excerpt, as stored runs
    with pytest.raises(SystemExit, match="shares no frame"):
        bench.other_seed(OneRecording, "amen", 10, 20, 1)  # 20 s from 10 s on leaves no 10 s outside it


def test_feature_outputs_get_griffin_lim_from_the_content_phase_only_where_asked(bench, tmp_path, wav_file):
    from audiostyle_engine.run import prepare

    c = wav_file("c.wav", np.zeros((1, 4410), dtype=np.float32) + 0.1)
    params, match, morph, phases, layer = bench.plan("balanced+layer06", {"n_filters": 8, "iterations": 1},
                                                     ("gl", "gl_refine", "gl_x3"))
    assert phases == ("gl", "gl_refine")  # gl_x3 starts from random phase: not for an output that carries one
    path = tmp_path / "g.yaml"
    path.write_text(bench.graph_yaml(c, c, tmp_path, params, phases, 2, match, morph, (layer, c)))
    prepare(path)
    text = path.read_text()
    assert "i_gl: {type: istft, inputs: {spectrogram: styled}, griffin_lim_iterations: 2}" in text
    assert "i_gl_refine: {type: istft, inputs: {spectrogram: styled, phase_from: c_spec}, griffin_lim_iterations: 2, " \
           "phase: griffin_lim}" in text
    assert bench.plan("balanced+layer06", {"n_filters": 8, "iterations": 1}, ("gl_x3",))[3] == ("gl",)


def test_the_held_out_pairs_are_new_pairs_of_the_same_five_kinds_with_licences(bench):
    import devset

    tuning = {"+".join(p) for p in devset.PAIRS}
    held_out = {"+".join(p) for p in devset.HELD_OUT_PAIRS}
    assert len(held_out) == 5 and not tuning & held_out
    kinds = [devset.KINDS[p] for p in sorted(tuning)]
    assert sorted(devset.KINDS[p] for p in held_out) == sorted(kinds)  # one of each kind, like the tuning set
    # every style recording and every content but the one real voice is new
    assert not {s for _, s in devset.HELD_OUT_PAIRS} & {s for _, s in devset.PAIRS}
    assert {c for c, _ in devset.HELD_OUT_PAIRS} & {c for c, _ in devset.PAIRS} == {"speech"}
    for name in {n for p in devset.HELD_OUT_PAIRS for n in p}:
        assert name in devset.BUILDERS and name in devset.LICENCES


def test_the_fresh_pairs_are_a_third_set_of_the_same_five_kinds_with_licences(bench):
    import devset

    earlier = [devset.PAIRS, devset.HELD_OUT_PAIRS]
    fresh = {"+".join(p) for p in devset.FRESH_PAIRS}
    assert len(fresh) == 5 and not fresh & {"+".join(p) for pairs in earlier for p in pairs}
    kinds = sorted(devset.KINDS["+".join(p)] for p in devset.PAIRS)
    assert sorted(devset.KINDS[p] for p in fresh) == kinds
    # no clip of the fresh pairs was in an earlier pair, the one real voice excepted
    used = {n for pairs in earlier for p in pairs for n in p}
    assert {n for p in devset.FRESH_PAIRS for n in p} & used == {"speech"}
    for name in {n for p in devset.FRESH_PAIRS for n in p}:
        assert name in devset.BUILDERS and name in devset.LICENCES


def test_the_unseen_pairs_are_a_fourth_set_of_the_same_five_kinds_with_licences(bench):
    import devset

    earlier = [devset.PAIRS, devset.HELD_OUT_PAIRS, devset.FRESH_PAIRS]
    unseen = {"+".join(p) for p in devset.UNSEEN_PAIRS}
    assert len(unseen) == 5 and not unseen & {"+".join(p) for pairs in earlier for p in pairs}
    assert sorted(devset.KINDS[p] for p in unseen) == sorted(devset.KINDS["+".join(p)] for p in devset.PAIRS)
    used = {n for pairs in earlier for p in pairs for n in p}
    assert {n for p in devset.UNSEEN_PAIRS for n in p} & used == {"speech"}
    for name in {n for p in devset.UNSEEN_PAIRS for n in p}:
        assert name in devset.BUILDERS and name in devset.LICENCES


def test_a_set_of_this_version_gains_new_clips_and_keeps_the_ones_it_has(bench, tmp_path, monkeypatch):
    """Clips added to the set are built into a cached set of the same version; the ones it has are not rebuilt."""
    import json

    import devset

    calls = []
    builders = {name: (lambda name=name: calls.append(name) or np.full(100, 0.5)) for name in ("a", "b")}
    monkeypatch.setattr(devset, "BUILDERS", builders)
    monkeypatch.setattr(devset, "_missing", lambda: [])
    monkeypatch.setattr(devset, "LICENCES", {})
    devset.build(tmp_path, quiet=True)
    assert calls == ["a", "b"]
    before = (tmp_path / "a.wav").read_bytes()
    monkeypatch.setattr(devset, "BUILDERS", {**builders, "c": lambda: calls.append("c") or np.full(100, 0.25)})
    devset.build(tmp_path, quiet=True)
    assert calls == ["a", "b", "c"] and (tmp_path / "a.wav").read_bytes() == before
    assert json.loads((tmp_path / "manifest.json").read_text())["clips"] == ["a", "b", "c"]
    devset.build(tmp_path, quiet=True)
    assert calls == ["a", "b", "c"]  # complete: nothing rebuilt


def test_held_out_and_fresh_need_the_devset_and_no_pair_list(bench, capsys):
    for flag, which in (("--held-out", "held-out"), ("--fresh", "fresh"), ("--unseen", "unseen"),
                        ("--all-sets", "fifteen")):
        for argv in ([flag],  # the generated pairs have no held-out or fresh set
                     [flag, "--source", "devset", "--pairs", "piano+amen"]):
            with pytest.raises(SystemExit):
                bench.main(argv)
            assert f"{flag} picks the devset's {which} pairs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--held-out", "--fresh", "--source", "devset"])
    assert "not allowed with argument" in capsys.readouterr().err  # two different sets of pairs: one at a time


def test_a_job_runs_its_own_pairs_into_its_own_report_and_starts_no_more_jobs(bench, tmp_path):
    argv = ["--source", "devset", "--all-sets", "--jobs", "2", "--configs", "match", "--json=out/q.json",
            "--content-seconds", "10", "--tagger"]
    job = bench.job_argv(argv, [("speech", "rock"), ("piano", "amen")], tmp_path / "job0.json")
    assert job == ["--source", "devset", "--configs", "match", "--content-seconds", "10", "--tagger",
                   "--pairs", "speech+rock,piano+amen", "--json", str(tmp_path / "job0.json")]
    assert bench.job_argv(["--pairs", "a+b", "--held-out", "--jobs=3"], [("c", "d")], tmp_path / "j.json") == \
        ["--pairs", "c+d", "--json", str(tmp_path / "j.json")]


@pytest.mark.slow  # a bench run of two pairs, then the same in two jobs (about 40 s)
def test_jobs_merge_to_the_rows_one_process_measures(bench, tmp_path):
    import json

    common = ["--pairs", "speech+drums,piano+trumpet", "--configs", "match", "--content-seconds", "1.5",
              "--style-seconds", "2", "--no-features"]
    for jobs in (1, 2):
        assert bench.main([*common, "--jobs", str(jobs), "--out", str(tmp_path / f"j{jobs}"),
                           "--json", str(tmp_path / f"j{jobs}.json")]) == 0
    one, two = ({(r["pair"], r["config"]): r for r in json.loads((tmp_path / f"j{j}.json").read_text())["rows"]}
                for j in (1, 2))
    assert set(one) == set(two) and len(one) > 2 * 20
    for key, row in one.items():
        for measure, value in row.items():
            if measure != "seconds" and isinstance(value, float) and np.isfinite(value):
                assert two[key][measure] == pytest.approx(value, abs=1e-9), (key, measure)


def _plans(bench, names):
    return [(n, *bench.plan(n, {"n_filters": 8, "iterations": 2}, bench.PHASES_FOR.get(n, bench.DEFAULT_PHASES)))
            for n in names]


def test_configs_that_differ_only_after_the_optimisation_share_one_run(bench):
    names = ["pre_logmag_a03_b234", "balanced_b234+layer06", "balanced+layer06", "strong_b234+layer06",
             "strong_b234+layer15", "strong_b234+layer10", "morph05+layer06", "morph05+layer10", "paper"]
    runs = [[p[0] for p in members] for members in bench.shared_runs(_plans(bench, names))]
    assert runs == [["pre_logmag_a03_b234", "balanced_b234+layer06"], ["balanced+layer06"],  # blocks 1-4: another loss
                    ["strong_b234+layer06", "strong_b234+layer15"],
                    ["strong_b234+layer10"],  # it also feeds gl_resynth: other phase variants, its own run
                    ["morph05+layer06"], ["morph05+layer10"], ["paper"]]  # DSP-only runs are never merged


@pytest.mark.skipif(importlib.util.find_spec("aisfx") is None, reason="aisfx weights not installed")
def test_a_shared_run_writes_what_separate_runs_write(bench, tmp_path, wav_file, rng):
    from audiostyle_engine.run import run_graph
    from tests.helpers.audio import noise, sine

    c = wav_file("c.wav", sine(hz=220.0, amp=0.3) + noise(rng, amp=0.01))
    s = wav_file("s.wav", sine(hz=330.0, amp=0.3) + noise(rng, amp=0.05))
    members = bench.shared_runs(_plans(bench, ["pre_logmag_a03_b234", "balanced_b234+layer06"]))[0]
    variants = [(tmp_path / "shared" / name, match, None if layer is None else (layer, s))
                for name, _, match, _, _, layer in members]
    _, params, _, morph, phases, _ = members[0]
    graph = tmp_path / "shared.yaml"
    graph.write_text(bench.graph_yaml(c, s, variants[0][0], dict(params), phases, 2, variants=variants, morph=morph))
    text = graph.read_text()
    assert text.count("type: feature_style") == 1 and text.count("type: layer") == len(phases)
    run_graph(graph, seed=0, device="cpu")
    for name, _, match, _, _, layer in members:  # the same configs, each in a run of its own
        alone = tmp_path / f"{name}.yaml"
        alone.write_text(bench.graph_yaml(c, s, tmp_path / "alone" / name, dict(params), phases, 2, match, morph,
                                          None if layer is None else (layer, s)))
        run_graph(alone, seed=0, device="cpu")
        for phase in phases:
            shared, own = tmp_path / "shared" / name / f"{phase}.wav", tmp_path / "alone" / name / f"{phase}.wav"
            np.testing.assert_array_equal(bench.read(shared), bench.read(own))
    # and the layered output is not the plain one: the variants really are different branches
    assert not np.array_equal(bench.read(tmp_path / "shared" / members[0][0] / "gl.wav"),
                              bench.read(tmp_path / "shared" / members[1][0] / "gl.wav"))


def _reference_rows(bench, content, style, other, extra=()):
    """Measured rows of one generated pair: content, the frontier's mixes, the style excerpt, then ``extra``."""
    rows = [{"pair": "a+b", "config": name, **bench.measure(x, content, style)}
            for name, x in [("content", content), *[(f"mix{round(100 * f)}", bench.mix(content, other, f))
                                                      for f in bench.MIX_FRACTIONS], ("style*", other), *extra]]
    for r in rows:
        r["position"] = float(np.mean(list(bench.quality.positions(r, rows[0]).values())))
    return rows


def test_a_layer_at_any_amount_the_graphs_use_is_itself_on_the_frontier(bench):
    # A layered output's margin should be what its styled part earns. With the frontier sampled at 5 and 10 %
    # only, a plain 6 % mix lay below the interpolated curve and scored a margin of its own.
    import signals
    from audiostyle_engine import settings

    content, style, other = bench.clips_of(signals, ("speech", "drums"), 1.0, 1.0)
    amounts = {layer for _, layer in bench.LAYERED.values()} | {settings.LAYER_AMOUNT}
    rows = _reference_rows(bench, content, style, other,
                           [(f"layered{round(100 * a)}/gl", bench.mix(content, other, a)) for a in sorted(amounts)])
    bench.add_frontier(rows)
    for r in rows[-len(amounts):]:
        assert abs(r["objective_margin"]) < 1e-9, r["config"]


def test_placebos_are_read_as_noise_neither_frontier_points_nor_configurations(bench):
    rows = _rows() + [{"pair": "a+b", "config": f"placebo20@shift{k}", "content_correlation": 0.8,
                       "position": 0.8 + d, "tagger_ratio": 0.64 - d} for k, d in ((25, 0.01), (50, -0.03))]
    bench.add_frontier(rows)
    assert rows[-2]["objective_margin"] == pytest.approx(0.01) and rows[-1]["objective_margin"] == pytest.approx(-0.03)
    xs, _ = bench.frontier(rows, "a+b", "position")
    assert xs.size == 5  # content, three mixes, the style excerpt: the placebos are not on the curve
    assert not any(bench.is_placebo(c) for c in bench.summarise(rows))
    # the output (0.65, 0.45, 0.6) against the placebos' floors: objective −0.20 < −0.03, tagger above theirs
    assert rows[5]["tagger_margin"] > min(rows[-2]["tagger_margin"], rows[-1]["tagger_margin"])
    assert bench.summarise(rows)["out/gl"]["pairs_beyond_placebos"] == 0  # both measures must be beyond them
    rows[5]["tagger_ratio"] = 0.0
    bench.add_frontier(rows)
    assert bench.summarise(rows)["out/gl"]["pairs_beyond_placebos"] == 1
    spread = bench.placebo_spread(rows)["objective_margin"]
    assert spread["n"] == 2 and spread["min"] == pytest.approx(-0.03) and spread["max"] == pytest.approx(0.01)
    assert spread["sd"] == pytest.approx(0.02) and spread["mean"] == pytest.approx(-0.01)


def test_placebo_layers_move_the_layer_or_take_other_excerpts_clear_of_the_reference(bench):
    import devset

    recording = np.arange(40 * devset.SR, dtype=np.float64)  # each sample says where in the recording it is

    class OneRecording:
        excerpt_range = staticmethod(devset.excerpt_range)

        @staticmethod
        def clip_frames(name):
            return recording.size

        @staticmethod
        def make(name, seconds, seed=0):
            start, stop = devset.excerpt_range(recording.size, seconds, seed)
            return recording[start:stop]

    content, style, other = bench.clips_of(OneRecording, ("piano", "amen"), 5.0, 10.0)
    layers = dict(bench.placebo_layers(OneRecording, ("piano", "amen"), 5.0, 10.0, 0, other))
    for s in bench.PLACEBO_SHIFTS:
        np.testing.assert_array_equal(layers[f"shift{round(100 * s)}"], np.roll(other, int(round(s * other.size))))
    excerpts = [x for label, x in layers.items() if label.startswith("excerpt")]
    assert len(excerpts) == bench.PLACEBO_EXCERPTS
    starts = [other[0]] + [x[0] for x in excerpts]
    for x in excerpts:
        assert x.size == other.size and (x[-1] < style[0] or x[0] > style[-1])  # no frame of the reference
    assert min(abs(a - b) for i, a in enumerate(starts) for b in starts[i + 1:]) >= devset.SR
    names = [n for n, _ in bench.placebo_mixes(OneRecording, ("piano", "amen"), 5.0, 10.0, 0, content, other)]
    assert len(names) == len(bench.PLACEBO_FRACTIONS) * len(layers) and all(bench.is_placebo(n) for n in names)


def test_rescoring_a_report_adds_the_mixes_and_placebos_it_lacks(bench, tmp_path):
    import json

    import signals

    content, style, other = bench.clips_of(signals, ("speech", "drums"), 1.0, 1.0)
    rows = [dict(r, pair="speech+drums") for r in _reference_rows(bench, content, style, other)
            if r["config"] not in ("mix4", "mix6", "mix8")]  # a report from before the denser frontier
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"settings": {"source": "generated", "content_seconds": 1.0, "style_seconds": 1.0,
                                            "excerpt": 0, "out": str(tmp_path)}, "rows": rows,
                               "load_average_start": [0.0] * 3, "load_average_end": [0.0] * 3}))
    new = tmp_path / "new.json"
    assert bench.main(["--from-json", str(old), "--json", str(new)]) == 0
    got = {r["config"]: r for r in json.loads(new.read_text())["rows"]}
    fresh = dict(bench.reference_mixes(signals, ("speech", "drums"), 1.0, 1.0, 0, content, other))
    assert set(fresh) <= set(got)  # every mix and placebo a fresh run has
    for name in ("mix6", "placebo6@shift50"):  # measured as a fresh run measures them
        measured = bench.measure(fresh[name], content, style)
        assert {k: got[name][k] for k in measured} == pytest.approx(measured)
    assert got["mix6"]["objective_margin"] == pytest.approx(0.0, abs=1e-12)
    assert "placebo_spread" in json.loads(new.read_text())


def test_a_complete_report_with_tagger_scores_re_scores_without_the_tagger(bench, tmp_path, monkeypatch):
    import json

    import signals

    monkeypatch.setitem(sys.modules, "tagger_distance", None)  # as where musicnn is not installed
    content, style, other = bench.clips_of(signals, ("speech", "drums"), 1.0, 1.0)
    extra = bench.placebo_mixes(signals, ("speech", "drums"), 1.0, 1.0, 0, content, other)
    rows = [dict(r, pair="speech+drums", tagger_frechet=1.0 + i)
            for i, r in enumerate(_reference_rows(bench, content, style, other, extra))]
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"settings": {"source": "generated", "content_seconds": 1.0, "style_seconds": 1.0},
                               "rows": rows, "load_average_start": [0.0] * 3, "load_average_end": [0.0] * 3}))
    assert bench.main(["--from-json", str(old), "--json", str(tmp_path / "new.json")]) == 0  # nothing to add
    rows[3:4] = []  # one mix missing: it needs a tagger score, so the tagger, which is not there
    old.write_text(json.dumps({"settings": {"source": "generated", "content_seconds": 1.0, "style_seconds": 1.0},
                               "rows": rows, "load_average_start": [0.0] * 3, "load_average_end": [0.0] * 3}))
    with pytest.raises(SystemExit, match="need the tagger too"):
        bench.main(["--from-json", str(old)])


def test_devset_help_prints_usage_and_builds_nothing(bench, tmp_path, monkeypatch, capsys):
    import devset

    monkeypatch.chdir(tmp_path)  # before: `devset.py --help` assembled the whole set into ./--help
    with pytest.raises(SystemExit) as stop:
        devset.main(["--help"])
    assert stop.value.code == 0 and "cache_dir" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
