"""bench/listening.py's blind test kit: what it plays, what it hides, and how it counts the answers."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tests.helpers.bench_scripts import bench_script
from tests.helpers.browser import MEDIA_STATE_JS, Browser, chromium_path

SR = 44100
SECONDS = 1.5
CONFIGS = ["cfg/gl", "zeta/gl_refine"]


@pytest.fixture(scope="module")
def listening():
    with bench_script("listening") as module:
        yield module


def _bursts(rng, n):
    env = np.zeros(n)
    for start in range(0, n, SR // 4):
        env[start:start + SR // 20] = 1.0
    return env * rng.standard_normal(n)


def _fake_run(root, pairs=("tone+bursts", "chirp+bursts"), configs=CONFIGS):
    """A bench/quality.py --out folder in miniature: per pair the clips and each config's output."""
    import scipy.signal
    from bench.signals import write_wav

    rng = np.random.default_rng(7)
    n = int(SR * SECONDS)
    t = np.arange(n) / SR
    for k, pair in enumerate(pairs):
        content = 0.3 * np.sin(2 * np.pi * (220 + 110 * k) * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
        if pair.startswith("chirp"):
            content = 0.3 * scipy.signal.chirp(t, 200, SECONDS, 2000)
        style, layer = _bursts(rng, n) * 0.2, _bursts(rng, n) * 0.2
        d = root / pair
        write_wav(d / "content.wav", content)
        write_wav(d / "style.wav", style)
        write_wav(d / "layer.wav", layer)
        for j, config in enumerate(configs):
            name, phase = config.split("/")
            hiss = scipy.signal.lfilter([1, -0.9], [1], rng.standard_normal(n))
            output = content + (0.02 + 0.02 * j) * hiss + 0.05 * layer
            write_wav(d / name / f"{phase}.wav", output)
    return root


@pytest.fixture(scope="module")
def kit(listening, tmp_path_factory):
    root = tmp_path_factory.mktemp("listening")
    run = _fake_run(root / "run")
    key = listening.build([run], CONFIGS, root / "kit", seed=3)
    return root / "kit", key, run


def _read(path):
    import soundfile

    x, sr = soundfile.read(str(path))
    assert sr == SR
    return x


def test_a_test_trial_plays_the_output_against_the_mix_that_keeps_the_content_as_well(kit, listening):
    from audiostyle_engine import quality

    kit_dir, key, _ = kit
    tests = [t for t in key["trials"] if t["kind"] == "test"]
    assert len(tests) == 4 and {t["config"] for t in tests} == set(CONFIGS)
    for t in tests:
        assert 0.0 < t["mix_fraction"] < listening.MAX_MIX_FRACTION
        # measured again from the files a listener hears (loudness-scaled, 24-bit): the two sides keep the
        # content equally by the bench's measure, and the output is the output, not a second mix
        content = _read(kit_dir / "audio" / f"{t['id']}_content.flac")
        corr = {t["sides"][s]: quality.content_correlation(_read(kit_dir / "audio" / f"{t['id']}_{s.lower()}.flac"),
                                                           content) for s in "AB"}
        assert corr["styled"] == pytest.approx(corr["mix"], abs=listening.MATCH_TOLERANCE)
        assert corr["styled"] == pytest.approx(t["content_correlation"]["styled"], abs=1e-4)
        assert corr["styled"] < 0.999


def test_a_catch_trial_puts_the_mix_against_one_with_more_of_the_style(kit, listening):
    from audiostyle_engine import quality

    kit_dir, key, _ = kit
    catches = [t for t in key["trials"] if t["kind"] == "catch"]
    assert sorted(t["pair"] for t in catches) == ["chirp+bursts", "tone+bursts"]
    for t in catches:
        assert t["more_style_fraction"] == pytest.approx(t["mix_fraction"] + listening.CATCH_EXTRA_STYLE)
        content = _read(kit_dir / "audio" / f"{t['id']}_content.flac")
        corr = {t["sides"][s]: quality.content_correlation(_read(kit_dir / "audio" / f"{t['id']}_{s.lower()}.flac"),
                                                           content) for s in "AB"}
        assert corr["more_style"] < corr["mix"] - 0.02


def test_every_file_of_a_trial_plays_at_one_loudness(kit, listening):
    import pyloudnorm

    kit_dir, key, _ = kit
    meter = pyloudnorm.Meter(SR)
    for t in key["trials"]:
        levels = [meter.integrated_loudness(_read(kit_dir / "audio" / f"{t['id']}_{f}.flac"))
                  for f in ("content", "style", "a", "b")]
        assert levels == pytest.approx([listening.LUFS] * 4, abs=0.1), (t["id"], levels)


def test_loud_stimuli_are_turned_down_together(listening):
    rng = np.random.default_rng(0)
    quiet, spiky = 0.01 * rng.standard_normal(SR), 0.01 * rng.standard_normal(SR)
    spiky[100] = 0.5  # one click: at equal loudness it would peak far above the ceiling
    a, b = listening.at_one_loudness([quiet, spiky], lufs=-14.0)
    assert np.max(np.abs(b)) == pytest.approx(10 ** (listening.PEAK_CEILING_DB / 20))
    import pyloudnorm

    meter = pyloudnorm.Meter(SR)
    la, lb = meter.integrated_loudness(a), meter.integrated_loudness(b)
    assert la == pytest.approx(lb, abs=0.01) and la < -14.0 - 3  # still equally loud, both below the target


def test_the_page_does_not_say_which_side_is_which(kit):
    kit_dir, key, _ = kit
    html = (kit_dir / "index.html").read_text()
    for secret in ("cfg", "zeta", "gl_refine", "styled", "more_style", "mix_fraction", "catch", "key.json"):
        assert secret not in html, secret
    names = sorted(p.name for p in (kit_dir / "audio").iterdir())
    assert names == sorted(f"{t['id']}_{f}.flac" for t in key["trials"] for f in ("content", "style", "a", "b"))


def test_sides_and_order_are_shuffled_reproducibly(listening, kit, tmp_path):
    _, key, run = kit
    again = listening.build([run], CONFIGS, tmp_path / "again", seed=3)
    assert again["trials"] == key["trials"] and again["kit"] == key["kit"]
    other = listening.build([run], CONFIGS, tmp_path / "other", seed=4)
    assert other["kit"] != key["kit"]
    styled_sides = {s for k in (key, other) for t in k["trials"] if t["kind"] == "test"
                    for s, name in t["sides"].items() if name == "styled"}
    assert styled_sides == {"A", "B"}


def test_an_output_no_mix_matches_is_left_out_with_a_reason(listening, tmp_path, capsys):
    from bench.signals import write_wav

    run = _fake_run(tmp_path / "run", pairs=("tone+bursts",), configs=["cfg/gl"])
    write_wav(run / "tone+bursts" / "far" / "gl.wav", np.random.default_rng(1).standard_normal(int(SR * SECONDS)))
    key = listening.build([run], ["cfg/gl", "far/gl", "absent/gl"], tmp_path / "kit")
    assert [t.get("config") for t in key["trials"] if t["kind"] == "test"] == ["cfg/gl"]
    said = capsys.readouterr().out
    assert "far/gl: content correlation" in said and "no mix matches it" in said
    assert "no absent/gl output" in said


def _sheet(key, pick, listener="x"):
    """An answer sheet: ``pick(trial)`` names the signal the listener chose ('styled', 'mix', ...)."""
    answers = {}
    for t in key["trials"]:
        side = {name: s for s, name in t["sides"].items()}[pick(t)]
        answers[t["id"]] = {"style": side, "content": "same", "prefer": side}
    return {"kit": key["kit"], "listener": listener, "setup": "test", "answers": answers}


def test_score_counts_the_styled_choices_of_listeners_who_pass_the_catch_trials(listening, kit):
    from scipy.stats import binomtest

    _, key, _ = kit
    hears = _sheet(key, lambda t: "styled" if t["kind"] == "test" else "more_style", "hears")
    deaf = _sheet(key, lambda t: "mix", "deaf")  # picks the mix everywhere: fails every catch trial
    result = listening.score(key, [hears, deaf])
    by_name = {li["listener"]: li for li in result["listeners"]}
    assert by_name["hears"]["catch_accuracy"] == 1.0 and by_name["hears"]["kept"]
    assert by_name["deaf"]["catch_accuracy"] == 0.0 and not by_name["deaf"]["kept"]
    for config in CONFIGS:
        c = result["configs"][config]
        assert (c["style"]["styled_chosen"], c["style"]["answers"]) == (2, 2)  # two pairs, one kept listener
        assert c["style"]["p"] == pytest.approx(binomtest(2, 2, 0.5).pvalue)
        assert c["content"] == {"styled": 0, "same": 2, "mix": 0}
    kept_both = listening.score(key, [hears, deaf], min_catch=0.0)
    assert kept_both["configs"]["cfg/gl"]["style"]["styled_chosen"] == 2
    assert kept_both["configs"]["cfg/gl"]["style"]["answers"] == 4


def test_score_refuses_a_sheet_from_another_kit_or_with_unknown_trials(listening, kit):
    _, key, _ = kit
    sheet = _sheet(key, lambda t: "mix")
    with pytest.raises(ValueError, match="is for kit"):
        listening.score(key, [{**sheet, "kit": "0123456789ab"}])
    with pytest.raises(ValueError, match="t99"):
        listening.score(key, [{**sheet, "answers": {**sheet["answers"], "t99": {"style": "A"}}}])


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_the_page_plays_every_file_and_its_answers_score(listening, kit):
    kit_dir, key, _ = kit
    with Browser() as browser:
        browser.open((kit_dir / "index.html").absolute().as_uri())
        state = browser.evaluate(MEDIA_STATE_JS)
        assert len(state["audios"]) == 4 * len(key["trials"])
        for audio in state["audios"]:
            assert audio["error"] is None and audio["duration"] == pytest.approx(SECONDS, abs=0.02), audio
        # answer as a listener who hears the style: the styled side on the tests, the fuller mix on catches
        for t in key["trials"]:
            side = {name: s for s, name in t["sides"].items()}["styled" if t["kind"] == "test" else "more_style"]
            for q, value in (("style", side), ("prefer", side), ("content", "same")):
                browser.evaluate(f"document.querySelector('input[name=\"{t['id']}-{q}\"][value=\"{value}\"]').click()")
        browser.evaluate("(() => { const e = document.getElementById('listener'); e.value = 'ears';"
                         " e.dispatchEvent(new Event('input', {bubbles: true})); })()")
        progress = browser.evaluate("document.getElementById('progress').textContent")
        sheet = json.loads(browser.evaluate("answersJSON()"))
        browser.open((kit_dir / "index.html").absolute().as_uri())  # a reload keeps the answers
        restored = json.loads(browser.evaluate("answersJSON()"))
    assert progress == f"{len(key['trials'])} of {len(key['trials'])} trials answered"
    assert restored["answers"] == sheet["answers"] and restored["listener"] == "ears"
    result = listening.score(key, [sheet])
    assert result["listeners"][0]["kept"]
    assert all(c["style"]["share"] == 1.0 and c["prefer"]["share"] == 1.0 for c in result["configs"].values())


def test_score_command_prints_the_tally_and_names_a_bad_sheet(listening, kit, tmp_path, capsys):
    kit_dir, key, _ = kit
    good = tmp_path / "answers-ears.json"
    good.write_text(json.dumps(_sheet(key, lambda t: "styled" if t["kind"] == "test" else "more_style", "ears")))
    assert listening.main(["score", "--kit", str(kit_dir), str(good)]) == 0
    said = capsys.readouterr().out
    assert "ears" in said and "catch 2/2  kept" in said
    assert "more like the style: styled 2/2 (100%" in said
    bad = tmp_path / "answers-bad.json"
    bad.write_text("not json")
    with pytest.raises(SystemExit, match="answers-bad.json: not an answer sheet"):
        listening.main(["score", "--kit", str(kit_dir), str(good), str(bad)])


def test_a_kit_replaces_an_old_kit_whole_and_refuses_a_folder_of_other_files(listening, kit, tmp_path):
    _, _, run = kit
    out = tmp_path / "kit"
    listening.build([run], CONFIGS, out, seed=1)
    listening.build([run], CONFIGS[:1], out, seed=2)  # fewer trials: no file of the first kit may stay
    key = json.loads((out / "key.json").read_text())
    assert sorted(p.name for p in (out / "audio").iterdir()) == sorted(
        f"{t['id']}_{f}.flac" for t in key["trials"] for f in ("content", "style", "a", "b"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="already holds other files"):
        listening.main(["build", "--run", str(run), "--config", CONFIGS[0], "--out", str(other)])
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
