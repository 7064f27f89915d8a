"""A blind listening test of styled outputs against plain layering, built from a bench/quality.py run.

    python bench/listening.py build --run out/qX out/qW --config balanced_b234+layer06/gl --out out/listening
    # open out/listening/index.html in a browser (offline), answer every trial, press "Download answers"
    python bench/listening.py score --kit out/listening answers-*.json

The bench's verdicts come from measures and a tagger; this asks ears. Each trial plays the pair's content and
its style reference, then A and B: the configuration's output and a plain mix of the content with the style layer
(the frontier's own mix, bench/quality.py `mix`) at the fraction whose content correlation equals the output's.
By the bench's content measure the two keep the content equally, so the listener answers which sounds more like
the style, which keeps the content clearer, and which they would rather use. Every file plays at one integrated
loudness (BS.1770), so louder never reads as better. One catch trial per pair puts that mix against a mix with
far more of the style: a listener who cannot hear which has more is not judging style, and `score` sets their
answers aside. Which side is which lives only in key.json, which the page never reads; the page keeps answers in
the browser and writes them as one JSON file per listener.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from html import escape
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import quality as bench  # noqa: E402
from audiostyle_engine import quality  # noqa: E402
from audiostyle_engine import settings  # noqa: E402
from audiostyle_engine.errors import ReportError  # noqa: E402
from audiostyle_engine.loudness import integrated_loudness  # noqa: E402
from audiostyle_engine.report.folders import check_report_dir, staged_dir  # noqa: E402
from audiostyle_engine.report.html import CSS  # noqa: E402
from audiostyle_engine.report.quality import matching_fraction  # noqa: E402

SR = bench.SR
LUFS = -23.0  # EBU R 128's programme level: room below full scale for every stimulus
PEAK_CEILING_DB = -1.0
MATCH_TOLERANCE = settings.QUALITY_MATCHED_MIX_TOLERANCE  # content correlation
CATCH_EXTRA_STYLE = 0.3  # a catch trial's second mix has this much more of the style
MAX_MIX_FRACTION = settings.QUALITY_MATCHED_MIX_MAX_FRACTION
MIN_CATCH_ACCURACY = 0.75
QUESTIONS = {
    "style": ("Which sounds more like the style reference?", ("A", "B")),
    "content": ("Which keeps the content clearer?", ("A", "same", "B")),
    "prefer": ("Which would you rather use, as the content in the style?", ("A", "B")),
}


def matched_fraction(output: np.ndarray, content: np.ndarray, layer: np.ndarray) -> float:
    """The style fraction f at which bench.mix(content, layer, f) has the output's content correlation."""
    target = quality.content_correlation(output, content)
    f = matching_fraction(lambda f: quality.content_correlation(bench.mix(content, layer, f), content), target,
                          MAX_MIX_FRACTION, MATCH_TOLERANCE)
    if f is None:
        raise ValueError(f"content correlation {target:.3f} is below every mix's (at {MAX_MIX_FRACTION:.0%} style: "
                         f"{quality.content_correlation(bench.mix(content, layer, MAX_MIX_FRACTION), content):.3f}); "
                         "no mix matches it")
    return f


def at_one_loudness(signals: list[np.ndarray], lufs: float = LUFS) -> list[np.ndarray]:
    """Every signal at ``lufs`` integrated loudness; if that would peak above PEAK_CEILING_DB for any of them,
    all are turned down alike, so they stay equally loud."""
    levelled = []
    for x in signals:
        loudness = integrated_loudness(x[None, :], SR)
        if not np.isfinite(loudness):
            raise ValueError("a stimulus is too short or silent for a loudness measurement")
        levelled.append(x * 10 ** ((lufs - loudness) / 20))
    peak = max(float(np.max(np.abs(x))) for x in levelled)
    ceiling = 10 ** (PEAK_CEILING_DB / 20)
    return [x * (ceiling / peak) for x in levelled] if peak > ceiling else levelled


def _write_flac(path: Path, x: np.ndarray) -> None:
    import soundfile

    soundfile.write(str(path), x.astype(np.float32), SR, subtype="PCM_24", format="FLAC")


def _pair_names(runs: list[Path]) -> list[str]:
    names = sorted({d.name for run in runs for d in run.iterdir() if d.is_dir() and (d / "content.wav").exists()})
    if not names:
        raise SystemExit(f"no pair folders (with content.wav) in {', '.join(map(str, runs))}: "
                         "pass the --out folder of a bench/quality.py run")
    return names


def _output_path(pair_dir: Path, config: str) -> Path:
    name, _, phase = config.partition("/")
    return pair_dir / name / f"{phase or 'gl'}.wav"


def _clips(pair_dir: Path) -> dict[str, np.ndarray]:
    return {n: bench.read(pair_dir / f"{n}.wav") for n in ("content", "style", "layer")}


def plan_trials(runs: list[Path], configs: list[str], seconds: float | None) -> list[dict]:
    """Every trial's signals and facts, in the order found (shuffled later): per pair and config a test trial
    (the output from the first run that has it, against its own run's clips), per pair one catch trial."""
    trials, read = [], {}
    for pair in _pair_names(runs):
        found = 0
        for config in configs:
            pair_dir = next((run / pair for run in runs if _output_path(run / pair, config).exists()), None)
            if pair_dir is None:
                print(f"  {pair}: no {config} output in any run; skipped", flush=True)
                continue
            if pair_dir not in read:  # several configs of one run share its clips
                read[pair_dir] = _clips(pair_dir)
            clips = read[pair_dir]
            content, layer = clips["content"], clips["layer"]
            output = bench.read(_output_path(pair_dir, config))
            n = min(output.size, content.size)
            output, c = output[:n], content[:n]
            try:
                f = matched_fraction(output, c, layer)
            except ValueError as exc:
                print(f"  {pair} {config}: {exc}; skipped", flush=True)
                continue
            mixed = bench.mix(c, layer, f)
            refs = {"content": c, "style": clips["style"]}
            trials.append({"kind": "test", "pair": pair, "config": config, "run": str(pair_dir.parent),
                           "mix_fraction": f,
                           "content_correlation": {"styled": quality.content_correlation(output, c),
                                                   "mix": quality.content_correlation(mixed, c)},
                           "signals": {"styled": output, "mix": mixed}, "references": refs})
            if not found:  # the catch trial starts from the first test's mix, so it sounds like the tests
                high = min(MAX_MIX_FRACTION, f + CATCH_EXTRA_STYLE)
                catch = {"kind": "catch", "pair": pair, "run": str(pair_dir.parent), "mix_fraction": f,
                         "more_style_fraction": high, "references": refs,
                         "signals": {"mix": mixed, "more_style": bench.mix(c, layer, high)}}
            found += 1
        if found:
            trials.append(catch)
    if seconds is not None:
        cut = int(seconds * SR)
        for t in trials:
            t["signals"] = {k: v[:cut] for k, v in t["signals"].items()}
            t["references"] = {k: v[:cut] for k, v in t["references"].items()}
    return trials


def build(runs: list[Path], configs: list[str], out: Path, seed: int = 0, seconds: float | None = None,
          lufs: float = LUFS) -> dict:
    """Writes the kit (index.html, audio/, key.json) into ``out`` and returns the key. The kit is built beside
    ``out`` and swapped in whole (as reports are), so an old kit is replaced, never mixed with the new one."""
    check_report_dir(out)  # refuse a folder holding other files before any work
    trials = plan_trials(runs, configs, seconds)
    if not trials:
        raise SystemExit(f"no trials: none of {configs} has an output in {', '.join(map(str, runs))}")
    with staged_dir(out) as stage:
        return _write_kit(stage, trials, runs, configs, seed, lufs)


def _write_kit(out: Path, trials: list[dict], runs: list[Path], configs: list[str], seed: int, lufs: float) -> dict:
    rng = random.Random(seed)
    rng.shuffle(trials)
    audio = out / "audio"
    audio.mkdir()
    key = {"lufs": lufs, "seed": seed, "runs": [str(r) for r in runs], "configs": configs, "trials": []}
    for i, t in enumerate(trials, 1):
        tid = f"t{i:02d}"
        names = list(t["signals"])  # [styled, mix] or [mix, more_style]
        rng.shuffle(names)
        sides = dict(zip("AB", names))
        levelled = at_one_loudness([t["references"]["content"], t["references"]["style"],
                                    t["signals"][sides["A"]], t["signals"][sides["B"]]], lufs)
        for label, x in zip(("content", "style", "a", "b"), levelled):
            _write_flac(audio / f"{tid}_{label}.flac", x)
        entry = {k: v for k, v in t.items() if k not in ("signals", "references")}
        key["trials"].append({"id": tid, **entry, "sides": sides})
    key["kit"] = hashlib.sha256(json.dumps(key["trials"], sort_keys=True).encode()).hexdigest()[:12]
    (out / "key.json").write_text(json.dumps(key, indent=1))
    (out / "index.html").write_text(page(key["kit"], [t["id"] for t in key["trials"]]))
    return key


def page(kit: str, trial_ids: list[str]) -> str:
    """The listening page: players and questions per trial, nothing about which side is which."""
    blocks = []
    for n, tid in enumerate(trial_ids, 1):
        players = "".join(f'<div><b>{label}</b><audio controls preload="metadata" src="audio/{tid}_{f}.flac">'
                          f'</audio></div>' for label, f in (("content", "content"), ("style reference", "style"),
                                                             ("A", "a"), ("B", "b")))
        questions = "".join(
            f'<div class="q"><span>{escape(text)}</span> ' + "".join(
                f'<label><input type="radio" name="{tid}-{q}" value="{c}"> {c}</label> ' for c in choices) + "</div>"
            for q, (text, choices) in QUESTIONS.items())
        blocks.append(f'<div class="card trial" data-trial="{tid}"><h3>Trial {n} of {len(trial_ids)}</h3>'
                      f'<div class="players">{players}</div>{questions}</div>')
    script = """
const KIT = %s, TRIALS = %s, QUESTIONS = %s, STORE = 'audiostyle-listening-' + KIT;
function answers() {
  const a = {};
  for (const t of TRIALS) for (const q of QUESTIONS) {
    const r = document.querySelector(`input[name="${t}-${q}"]:checked`);
    if (r) (a[t] = a[t] || {})[q] = r.value;
  }
  return a;
}
function answersJSON() {
  return JSON.stringify({kit: KIT, listener: document.getElementById('listener').value,
    setup: document.getElementById('setup').value, answers: answers(), saved: new Date().toISOString()}, null, 1);
}
function update() {
  localStorage.setItem(STORE, answersJSON());
  const done = TRIALS.filter(t => QUESTIONS.every(q => (answers()[t] || {})[q])).length;
  document.getElementById('progress').textContent = `${done} of ${TRIALS.length} trials answered`;
}
function download() {
  const name = (document.getElementById('listener').value || 'listener').replace(/[^A-Za-z0-9_-]+/g, '_');
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([answersJSON()], {type: 'application/json'}));
  link.download = `answers-${name}-${KIT}.json`;
  link.click();
}
(function restore() {
  const saved = JSON.parse(localStorage.getItem(STORE) || 'null');
  if (saved) {
    document.getElementById('listener').value = saved.listener || '';
    document.getElementById('setup').value = saved.setup || '';
    for (const [t, qs] of Object.entries(saved.answers || {})) for (const [q, v] of Object.entries(qs)) {
      const r = document.querySelector(`input[name="${t}-${q}"][value="${v}"]`);
      if (r) r.checked = true;
    }
  }
  // one player at a time, so A and B are never heard on top of each other
  document.addEventListener('play', e => document.querySelectorAll('audio').forEach(a => { if (a !== e.target) a.pause(); }), true);
  document.addEventListener('change', update);
  document.addEventListener('input', update);
  update();
})();
""" % (json.dumps(kit), json.dumps(trial_ids), json.dumps(list(QUESTIONS)))
    intro = ("<p>Each trial has a <b>content</b> and a <b>style reference</b>, then two results, <b>A</b> and "
             "<b>B</b>. In most trials one is a plain mix of the content with the style and the other comes from "
             "audiostyle; in a few both are mixes. Which is which changes from trial to trial. All play at the same loudness. Listen on headphones or "
             "good loudspeakers, as often as you like, then answer all three questions.</p>")
    body = (f"<h1>Listening test</h1><p class=\"meta\">kit {escape(kit)}</p>{intro}"
            "<p><label>Your name or initials <input id=\"listener\"></label> "
            "<label>Headphones or loudspeakers (model) <input id=\"setup\" size=\"30\"></label></p>"
            + "".join(blocks) +
            "<p><span id=\"progress\"></span> <button id=\"download\" onclick=\"download()\">Download answers"
            "</button> (answers are also kept in this browser until you clear its storage)</p>"
            f"<style>.trial {{ margin: 14px 0; }} .players {{ display: grid; grid-template-columns: 1fr 1fr; "
            f"gap: 4px 16px; }} .q {{ margin: 6px 0; }} .q span {{ display: inline-block; min-width: 420px; }}</style>"
            f"<script>{script}</script>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>audiostyle listening "
            f"test</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _binomial_p(k: int, n: int) -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n, 0.5).pvalue) if n else float("nan")


def score(key: dict, sheets: list[dict], min_catch: float = MIN_CATCH_ACCURACY) -> dict:
    """Tallies of the listeners' answers against the key: per listener their catch accuracy; per configuration,
    over the listeners who passed the catch trials, how often the styled output was chosen."""
    trials = {t["id"]: t for t in key["trials"]}
    listeners, kept = [], []
    for i, sheet in enumerate(sheets):
        if sheet.get("kit") != key["kit"]:
            raise ValueError(f"answer sheet {i + 1} ({sheet.get('listener') or 'no name'}) is for kit "
                             f"{sheet.get('kit')!r}, not {key['kit']!r}: score it with the kit it was made from")
        unknown = sorted(set(sheet.get("answers", {})) - set(trials))
        if unknown:
            raise ValueError(f"answer sheet {i + 1} names trials the kit does not have: {', '.join(unknown)}")
        answers = sheet["answers"]
        catches = [t for t in trials.values() if t["kind"] == "catch" and "style" in answers.get(t["id"], {})]
        right = sum(t["sides"][answers[t["id"]]["style"]] == "more_style" for t in catches)
        accuracy = right / len(catches) if catches else float("nan")
        passed = bool(catches) and accuracy >= min_catch
        listeners.append({"listener": sheet.get("listener") or f"sheet {i + 1}", "setup": sheet.get("setup", ""),
                          "catch_right": right, "catch_answered": len(catches), "catch_accuracy": accuracy,
                          "kept": passed, "answered": len(answers)})
        if passed:
            kept.append(answers)
    configs = {}
    for t in trials.values():
        if t["kind"] != "test":
            continue
        c = configs.setdefault(t["config"], {"style": [0, 0], "prefer": [0, 0],
                                             "content": {"styled": 0, "same": 0, "mix": 0}, "pairs": {}})
        per_pair = c["pairs"].setdefault(t["pair"], {"style": [0, 0], "prefer": [0, 0]})
        for answers in kept:
            given = answers.get(t["id"], {})
            for q in ("style", "prefer"):
                if q in given:
                    styled = t["sides"][given[q]] == "styled"
                    for tally in (c[q], per_pair[q]):
                        tally[0] += styled
                        tally[1] += 1
            if "content" in given:
                c["content"]["same" if given["content"] == "same" else t["sides"][given["content"]]] += 1
    for c in configs.values():
        for q in ("style", "prefer"):
            k, n = c[q]
            c[q] = {"styled_chosen": k, "answers": n, "share": k / n if n else float("nan"), "p": _binomial_p(k, n)}
    return {"kit": key["kit"], "min_catch": min_catch, "listeners": listeners, "configs": configs}


def print_score(result: dict) -> None:
    print(f"kit {result['kit']}: {len(result['listeners'])} answer sheet(s); catch trials must be "
          f"≥ {result['min_catch']:.0%} right")
    for li in result["listeners"]:
        print(f"  {li['listener']:20s} catch {li['catch_right']}/{li['catch_answered']}  "
              f"{'kept' if li['kept'] else 'set aside'}  ({li['answered']} trials answered; {li['setup'] or 'setup not given'})")
    for config, c in result["configs"].items():
        s, p, ct = c["style"], c["prefer"], c["content"]
        print(f"\n{config}, against the mix at its content correlation (listeners kept):")
        print(f"  more like the style: styled {s['styled_chosen']}/{s['answers']} ({s['share']:.0%}, binomial p {s['p']:.3g})")
        print(f"  rather use:          styled {p['styled_chosen']}/{p['answers']} ({p['share']:.0%}, binomial p {p['p']:.3g})")
        print(f"  content clearer:     styled {ct['styled']}, the same {ct['same']}, mix {ct['mix']}")
        for pair, pp in sorted(c["pairs"].items()):
            print(f"    {pair:20s} style {pp['style'][0]}/{pp['style'][1]}  rather use {pp['prefer'][0]}/{pp['prefer'][1]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a kit (index.html, audio/, key.json) from bench/quality.py runs")
    b.add_argument("--run", type=Path, nargs="+", required=True, help="--out folders of bench/quality.py runs")
    b.add_argument("--config", action="append", required=True,
                   help="a configuration of those runs, optionally /phase (default gl); repeat for more")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--seed", type=int, default=0, help="shuffles the trials and the sides")
    b.add_argument("--seconds", type=float, default=None, help="play only the first SECONDS of each signal")
    b.add_argument("--lufs", type=float, default=LUFS)
    s = sub.add_parser("score", help="tally answer sheets against a kit's key")
    s.add_argument("--kit", type=Path, required=True, help="the kit folder (with key.json)")
    s.add_argument("answers", type=Path, nargs="+", help="answer sheets the page downloaded")
    s.add_argument("--min-catch", type=float, default=MIN_CATCH_ACCURACY)
    s.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.command == "build":
        missing = [str(r) for r in args.run if not r.is_dir()]
        if missing:
            ap.error(f"no such run folder: {', '.join(missing)}")
        try:
            key = build(args.run, args.config, args.out, args.seed, args.seconds, args.lufs)
        except ReportError as exc:
            raise SystemExit(f"listening.py build: {exc}")
        tests = sum(t["kind"] == "test" for t in key["trials"])
        print(f"wrote {args.out / 'index.html'}: {len(key['trials'])} trials ({tests} tests, "
              f"{len(key['trials']) - tests} catch), kit {key['kit']}; the key is {args.out / 'key.json'} "
              "(keep it from the listeners)")
        return 0
    key_path = args.kit / "key.json"
    if not key_path.exists():
        ap.error(f"{key_path} not found: --kit is the folder `build` wrote")
    key = json.loads(key_path.read_text())
    sheets = []
    for path in args.answers:
        try:
            sheets.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise SystemExit(f"listening.py score: {path}: not an answer sheet the page downloaded ({exc})")
    try:
        result = score(key, sheets, args.min_catch)
    except ValueError as exc:
        raise SystemExit(f"listening.py score: {exc}")
    print_score(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
