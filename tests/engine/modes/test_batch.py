"""audiostyle batch / status: exactly-once journal, failures that never stop the queue, safe outputs."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import cli
from audiostyle_engine.modes.coordinator import run_batch
from audiostyle_engine.modes.inputs import expand_inputs
from audiostyle_engine.modes.plan import Plan
from audiostyle_engine.modes.pools import InlineExecutor, ProcessExecutor
from audiostyle_engine.errors import UnsafeOutputError
from audiostyle_engine.modes.journal import file_hash
from tests.helpers.audio import noise, read_audio, sine, write_audio
from tests.helpers.folders import journal_rows, partial_files
from tests.helpers.graphs import HALF_GAIN_GRAPH, half_gain_graph


@pytest.fixture
def stems(tmp_path, rng):
    """An input folder with a subfolder, spaces and non-ASCII names, and a stereo file."""
    src = tmp_path / "in"
    (src / "drums").mkdir(parents=True)
    (src / "vocäl takes").mkdir()
    files = {
        "bass.wav": sine(hz=110, seconds=0.5),
        "drums/kick loop.flac": noise(rng, seconds=0.5, channels=2),
        "vocäl takes/séance 1.wav": sine(hz=660, seconds=0.5),
    }
    for rel, samples in files.items():
        write_audio(src / rel, samples, bit_depth=24 if rel.endswith(".flac") else 16)
    return src, files


def batch(*args) -> int:
    return cli.main(["batch", *map(str, args), "--quiet"])


def test_batch_mirrors_folder_and_outputs_are_processed(tmp_path, stems, capsys):
    src, files = stems
    graph = half_gain_graph(tmp_path)
    out = tmp_path / "out"
    assert batch(graph, src, out) == 0
    for rel in files:
        expected = out / Path(rel).with_suffix(".wav")
        got, sr = read_audio(expected)
        original, _ = read_audio(src / rel)
        assert sr == 44100 and got.shape == original.shape
        np.testing.assert_allclose(got, 0.5 * original, atol=1e-4)
    rows = journal_rows(out)
    assert sorted(rows) == sorted(files)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert all(r["content_hash"] == file_hash(src / rel) for rel, r in rows.items())
    assert "3 done, 0 failed" in capsys.readouterr().out
    assert partial_files(out) == []


def test_rerun_skips_done_files_and_redoes_changed_input_or_graph(tmp_path, stems):
    src, files = stems
    graph = half_gain_graph(tmp_path)
    out = tmp_path / "out"
    assert batch(graph, src, out) == 0
    first = journal_rows(out)
    assert batch(graph, src, out) == 0
    assert journal_rows(out) == first  # nothing redone: same attempts, same timestamps

    write_audio(src / "bass.wav", sine(hz=220, seconds=0.5))  # a replaced input
    assert batch(graph, src, out) == 0
    rows = journal_rows(out)
    assert rows["bass.wav"]["attempts"] == 2
    assert rows["drums/kick loop.flac"]["attempts"] == 1
    got, _ = read_audio(out / "bass.wav")
    np.testing.assert_allclose(got, 0.5 * read_audio(src / "bass.wav")[0], atol=1e-4)

    assert batch(graph, src, out, "--set", "gain=0") == 0  # a changed graph setting redoes everything
    rows = journal_rows(out)
    assert [r["attempts"] for r in rows.values()] == [3, 2, 2]
    got, _ = read_audio(out / "bass.wav")
    np.testing.assert_allclose(got, read_audio(src / "bass.wav")[0], atol=1e-4)


def test_bad_files_get_error_txt_and_never_stop_the_queue(tmp_path, stems, capsys):
    src, _ = stems
    (src / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 20)
    (src / "empty.flac").write_bytes(b"")
    (src / "notes.txt").write_text("not audio")
    write_audio(src / "blip.wav", sine(seconds=0.01))  # shorter than the graph's min_seconds
    before = {p: file_hash(p) for p in src.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    assert batch(half_gain_graph(tmp_path), src, out) == 1
    rows = journal_rows(out)
    failed = {rel for rel, r in rows.items() if r["status"] == "failed"}
    assert failed == {"corrupt.wav", "empty.flac", "notes.txt", "blip.wav"}
    for rel in failed:
        reason = (out / (rel + ".error.txt")).read_text()
        assert reason.count("\n") == 1 and rows[rel]["error"] in reason
    assert "unsupported file type '.txt'" in rows["notes.txt"]["error"]
    assert "too short" in rows["blip.wav"]["error"] or "at least 0.05 s" in rows["blip.wav"]["error"]
    assert (out / "bass.wav").exists() and (out / "drums/kick loop.wav").exists()
    assert not (out / "corrupt.wav").exists()
    assert {p: file_hash(p) for p in src.rglob("*") if p.is_file()} == before  # inputs untouched
    assert "4 failed" in capsys.readouterr().out
    # A fixed file replaces its error file with an output.
    write_audio(src / "corrupt.wav", sine(seconds=0.3))
    assert batch(half_gain_graph(tmp_path), src, out) == 1  # the other three still fail (skipped, kept failed)
    assert (out / "corrupt.wav").exists() and not (out / "corrupt.wav.error.txt").exists()


def test_outputs_are_confined_to_out_dir(tmp_path, stems):
    src, _ = stems
    for target in ("${out}/../../escaped.wav", str(tmp_path / "elsewhere.wav")):
        extra_output = f"  copy:\n    type: write\n    inputs: {{audio: louder}}\n    path: {target}\n"
        graph = half_gain_graph(tmp_path, HALF_GAIN_GRAPH + extra_output)
        with pytest.raises(UnsafeOutputError, match="outside the output folder|contains '..'"):
            Plan.create(graph, src, tmp_path / "out")
    assert not (tmp_path / "escaped.wav").exists() and not (tmp_path / "elsewhere.wav").exists()


def test_symlinks_out_of_input_folder_are_not_followed(tmp_path, stems, capsys):
    src, files = stems
    outside = tmp_path / "private"
    outside.mkdir()
    write_audio(outside / "secret.wav", sine())
    os.symlink(outside / "secret.wav", src / "link.wav")
    os.symlink(outside, src / "linked folder")
    os.symlink(src / "bass.wav", src / "inside link.wav")  # stays inside: taken
    root, found = expand_inputs(str(src))
    rels = sorted(p.relative_to(src).as_posix() for p in found)
    assert rels == sorted([*files, "inside link.wav"])
    out = tmp_path / "out"
    assert batch(half_gain_graph(tmp_path), src, out) == 0
    assert not (out / "link.wav").exists() and not (out / "linked folder").exists()
    assert "symlink leading out of" in capsys.readouterr().err


def test_glob_and_files_from_select_inputs(tmp_path, stems):
    src, _ = stems
    graph = half_gain_graph(tmp_path)
    out = tmp_path / "out"
    assert batch(graph, f"{src}/**/*.flac", out) == 0
    assert sorted(journal_rows(out)) == ["drums/kick loop.flac"]
    listing = tmp_path / "list.txt"
    listing.write_text("# picked\nbass.wav\n", encoding="utf-8")
    assert cli.main(["batch", str(graph), str(src), str(out), "--files-from", str(listing), "--quiet"]) == 0
    assert sorted(journal_rows(out)) == ["bass.wav", "drums/kick loop.flac"]


def test_interrupted_job_is_redone_and_partials_swept(tmp_path, stems):
    src, files = stems
    graph = half_gain_graph(tmp_path)
    out = tmp_path / "out"
    plan = Plan.create(graph, src, out)
    run_batch(plan, [src / "bass.wav"], InlineExecutor())
    # What a kill -9 mid-job leaves: the row still 'running' and a staged temp file.
    import sqlite3
    db = sqlite3.connect(out / ".audiostyle-journal.sqlite")
    db.execute("UPDATE jobs SET status = 'running'")
    db.commit()
    db.close()
    (out / "bass.wav").unlink()  # a first attempt killed mid-job has no output yet...
    (out / ".bass.1234abcd.partial.wav").write_bytes(b"half")  # ...only its staged temp file
    results = run_batch(plan, sorted(src.rglob("*.*")), InlineExecutor())
    assert {r.rel: r.status for r in results} == {rel: "done" for rel in files}
    assert journal_rows(out)["bass.wav"]["attempts"] == 2
    assert partial_files(out) == []


def test_two_worker_processes_give_the_same_outputs(tmp_path, stems):
    src, files = stems
    graph = half_gain_graph(tmp_path)
    plan = Plan.create(graph, src, tmp_path / "out")
    executor = ProcessExecutor(2)
    try:
        results = run_batch(plan, sorted(p for p in src.rglob("*") if p.is_file()), executor)
    finally:
        executor.shutdown()
    assert sorted(r.rel for r in results if r.status == "done") == sorted(files)
    for rel in files:
        got, _ = read_audio(tmp_path / "out" / Path(rel).with_suffix(".wav"))
        np.testing.assert_allclose(got, 0.5 * read_audio(src / rel)[0], atol=1e-4)


def test_setup_errors_are_one_line(tmp_path, stems, capsys):
    src, _ = stems
    graph = half_gain_graph(tmp_path)
    assert cli.main(["batch", str(graph), str(src), str(src / "out")]) == 1
    assert "overlap" in capsys.readouterr().err
    no_content = half_gain_graph(tmp_path, "variables: {out: o.wav}\nnodes:\n  s: {type: load, path: /x.wav}\n"
                                           "  w: {type: write, inputs: {audio: s}, path: '${out}'}\n")
    assert cli.main(["batch", str(no_content), str(src), str(tmp_path / "o")]) == 1
    assert "does not use ${content}" in capsys.readouterr().err
    assert cli.main(["batch", str(graph), str(tmp_path / "nope"), str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_status_prints_the_journal(tmp_path, stems, capsys):
    src, _ = stems
    (src / "broken.wav").write_bytes(b"nope")
    out = tmp_path / "out"
    batch(half_gain_graph(tmp_path), src, out)
    capsys.readouterr()
    assert cli.main(["status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "vocäl takes/séance 1.wav" in text and "broken.wav" in text
    assert "4 input(s): 3 done, 1 failed" in text
    assert cli.main(["status", str(out), "--failed"]) == 1
    assert "bass.wav" not in capsys.readouterr().out
    assert cli.main(["status", str(tmp_path)]) == 1
    assert "has no journal" in capsys.readouterr().err


def test_pool_workers_share_the_cores_instead_of_oversubscribing(tmp_path, stems):
    from audiostyle_engine.modes.pools import threads_per_worker
    from tests.helpers.folders import threads_seen_by_a_worker

    src, _ = stems
    plan = Plan.create(half_gain_graph(tmp_path), src, tmp_path / "out")
    executor = ProcessExecutor(2)
    try:
        omp, torch_threads, ok = executor._pool.submit(threads_seen_by_a_worker, plan.job("bass.wav")).result()
    finally:
        executor.shutdown()
    share = threads_per_worker(2)
    assert share == max(1, (os.cpu_count() or 1) // 2)
    assert ok and omp == str(share) and torch_threads == share


def test_live_display_shows_files_done_of_total_current_file_and_eta(tmp_path, stems):
    from audiostyle_engine.modes.display import BatchDisplay
    from tests.helpers.terminal import drawn_text, fake_terminal

    src, files = stems
    console = fake_terminal()
    plan = Plan.create(half_gain_graph(tmp_path), src, tmp_path / "out")
    display = BatchDisplay(console=console)
    run_batch(plan, sorted(p for p in src.rglob("*") if p.is_file()), InlineExecutor(), display)
    display.close()
    drawn = drawn_text(console)
    assert "1/3, ETA" in drawn
    assert "bass.wav: [2/3] louder" in drawn  # the running file's node
    assert "3/3" in drawn and "ok   bass.wav → " in drawn  # finished files stay printed above the status
    raw = console.file.getvalue()
    assert raw.rfind("\033[?25h") > raw.rfind("\033[?25l") >= 0  # the live status hid the cursor; closed, it is back


def test_batch_display_off_a_terminal_writes_plain_lines_only(tmp_path, stems, monkeypatch):
    import io

    from audiostyle_engine.modes.display import BatchDisplay

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich alone would take this for a terminal
    src, files = stems
    stream = io.StringIO()
    plan = Plan.create(half_gain_graph(tmp_path), src, tmp_path / "out")
    display = BatchDisplay(stream)
    run_batch(plan, sorted(p for p in src.rglob("*") if p.is_file()), InlineExecutor(), display)
    display.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("ok   ") for line in lines)
    assert "\033" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_two_inputs_with_the_same_output_name_do_not_overwrite_each_other(tmp_path, stems):
    src, _ = stems
    write_audio(src / "bass.flac", sine(hz=55, seconds=0.5), bit_depth=24)  # bass.wav → bass.wav too
    out = tmp_path / "out"
    assert batch(half_gain_graph(tmp_path), src, out) == 1
    rows = journal_rows(out)
    assert rows["bass.flac"]["status"] == "done"  # sorted: bass.flac comes first
    assert rows["bass.wav"]["status"] == "failed" and "rename one of the two inputs" in rows["bass.wav"]["error"]
    got, _ = read_audio(out / "bass.wav")
    np.testing.assert_allclose(got, 0.5 * read_audio(src / "bass.flac")[0], atol=1e-4)


def test_gpu_slots_admit_one_job_per_gpu(tmp_path):
    import threading
    import time

    from audiostyle_engine.modes.job import gpu_slot

    inside: list[str] = []
    seen: list[list[str]] = []
    lock = threading.Lock()

    def job():
        with gpu_slot("cuda", count=2, lock_dir=str(tmp_path)) as device:
            with lock:
                inside.append(device)
                seen.append(sorted(inside))
            time.sleep(0.05)
            with lock:
                inside.remove(device)

    threads = [threading.Thread(target=job) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6
    assert all(len(s) == len(set(s)) for s in seen)  # never two jobs on one GPU at once
    assert {d for s in seen for d in s} <= {"cuda:0", "cuda:1"}
    assert max(len(s) for s in seen) <= 2


def test_bundled_fx_master_graph_runs_in_batch(tmp_path):
    from tests.helpers import REPO

    src = tmp_path / "in"
    src.mkdir()
    rumble, tone = sine(hz=15, seconds=1.0, amp=0.3), sine(hz=1000, seconds=1.0, amp=0.3)
    write_audio(src / "mix.wav", np.concatenate([rumble + tone, rumble + tone]))
    out = tmp_path / "out"
    assert batch(REPO / "graphs" / "fx_master.yaml", src, out) == 0
    got, sr = read_audio(out / "mix.wav")
    assert got.shape[0] == 2 and np.abs(got).max() <= 10 ** (-1.0 / 20) + 1e-3  # limiter ceiling -1 dBFS
    spectrum = np.abs(np.fft.rfft(got[0]))
    freqs = np.fft.rfftfreq(got.shape[1], 1 / sr)
    level = {hz: spectrum[np.argmin(np.abs(freqs - hz))] for hz in (15, 1000)}
    assert level[15] < 0.5 * level[1000]  # equal in the input: the (6 dB/octave) high-pass cut the rumble


def test_a_worker_process_dying_fails_its_file_and_the_queue_goes_on(tmp_path, stems):
    from concurrent.futures import wait as wait_all

    from tests.helpers.folders import die_abruptly

    src, files = stems
    executor = ProcessExecutor(2)
    try:
        crashed = executor._pool.submit(die_abruptly)
        wait_all([crashed])
        plan = Plan.create(half_gain_graph(tmp_path), src, tmp_path / "out")
        results = run_batch(plan, sorted(p for p in src.rglob("*") if p.is_file()), executor)
    finally:
        executor.shutdown()
    assert sorted(r.rel for r in results if r.status == "done") == sorted(files)


STYLE_GRAPH = """
variables: {content: c.wav, style: s.wav, out: o.flac}
nodes:
  content_in: {type: load, path: "${content}"}
  content_mono: {type: mono, inputs: {audio: content_in}}
  content_spec: {type: stft, inputs: {audio: content_mono}}
  style_in: {type: load, path: "${style}"}
  style_mono: {type: mono, inputs: {audio: style_in}}
  style_spec: {type: stft, inputs: {audio: style_mono}}
  styled: {type: style_transfer, inputs: {content: content_spec, style: style_spec}, n_filters: 8, iterations: 3}
  back: {type: istft, inputs: {spectrogram: styled}, griffin_lim_iterations: 4}
  save: {type: write, inputs: {audio: back}, path: "${out}"}
"""


def test_style_transfer_batch_with_a_style_set_and_its_changes_tracked(tmp_path, rng):
    src = tmp_path / "in"
    src.mkdir()
    write_audio(src / "voice.wav", sine(hz=300, seconds=0.6))
    style = write_audio(tmp_path / "drums.wav", noise(rng, seconds=0.6))
    graph = half_gain_graph(tmp_path, STYLE_GRAPH)
    out = tmp_path / "out"
    args = ["batch", str(graph), str(src), str(out), "--set", f"style={style}", "--device", "cpu", "--seed", "1",
            "--quiet"]
    assert cli.main(args) == 0
    got, sr = read_audio(out / "voice.flac")  # the format of the graph's 'out'
    assert sr == 44100 and abs(got.shape[1] - int(0.6 * 44100)) < 1024 and np.abs(got).max() > 0
    assert cli.main(args) == 0 and journal_rows(out)["voice.wav"]["attempts"] == 1
    write_audio(style, noise(rng, seconds=0.6, amp=0.1))  # a new style clip changes what the graph computes
    assert cli.main(args) == 0 and journal_rows(out)["voice.wav"]["attempts"] == 2


def test_attempt_killed_after_committing_its_output_is_kept_not_redone(tmp_path, stems):
    import sqlite3

    src, files = stems
    graph = half_gain_graph(tmp_path)
    out = tmp_path / "out"
    plan = Plan.create(graph, src, out)
    run_batch(plan, [src / "bass.wav", src / "drums/kick loop.flac"], InlineExecutor())
    db = sqlite3.connect(out / ".audiostyle-journal.sqlite")
    # bass.wav: killed after its output was renamed into place (the output is not the one seen at start).
    db.execute("UPDATE jobs SET status = 'running', output_inode = -1 WHERE input = 'bass.wav'")
    # kick loop: killed mid-job (its output is still the one that was there when the attempt started).
    db.execute("UPDATE jobs SET status = 'running', output_inode = ? WHERE input = 'drums/kick loop.flac'",
               (os.stat(out / "drums" / "kick loop.wav").st_ino,))
    db.commit()
    db.close()
    results = {r.rel: r for r in run_batch(plan, sorted(p for p in src.rglob("*") if p.is_file()), InlineExecutor())}
    rows = journal_rows(out)
    assert results["bass.wav"].status == "skipped" and rows["bass.wav"]["attempts"] == 1
    assert results["drums/kick loop.flac"].status == "done" and rows["drums/kick loop.flac"]["attempts"] == 2


def test_a_file_name_that_is_not_utf8_is_reported_not_fatal(tmp_path, stems):
    src, files = stems
    with open(os.path.join(os.fsencode(src), b"take \xff.wav"), "wb") as f:  # e.g. from an old Latin-1 system
        f.write((src / "bass.wav").read_bytes())
    out = tmp_path / "out"
    assert batch(half_gain_graph(tmp_path), src, out) == 1
    rows = journal_rows(out)
    assert rows["take \\xff.wav"]["status"] == "failed" and "not valid UTF-8" in rows["take \\xff.wav"]["error"]
    assert all(rows[rel]["status"] == "done" for rel in files)


def test_batch_writes_a_report_per_file_and_an_index(tmp_path, rng):
    """Reports are on by default from the CLI: one per input, and an index that follows the journal."""
    import json

    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    write_audio(src / "a.wav", noise(rng, seconds=0.5, channels=2))
    write_audio(src / "sub" / "b.wav", noise(rng, seconds=0.5, channels=2))
    (src / "broken.wav").write_bytes(b"RIFF" + b"\0" * 40)
    graph = half_gain_graph(tmp_path)
    assert cli.main(["batch", str(graph), str(src), str(out), "--quiet"]) == 1  # one file failed
    assert (out / "reports" / "a" / "report.html").exists()
    assert (out / "reports" / "sub" / "b" / "report.html").exists()
    index = json.loads((out / "index.json").read_text())
    by_input = {Path(e["input"]).name: e for e in index["entries"]}
    assert {n: e["status"] for n, e in by_input.items()} == {"a.wav": "done", "b.wav": "done", "broken.wav": "failed"}
    assert by_input["broken.wav"]["message"] and (out / "broken.wav.error.txt").exists()
    html = (out / "index.html").read_text()
    assert "reports/a/report.html" in html and "reports/sub/b/report.html" in html
    # --no-report writes neither
    out2 = tmp_path / "out2"
    cli.main(["batch", str(graph), str(src), str(out2), "--quiet", "--no-report"])
    assert not (out2 / "reports").exists() and not (out2 / "index.html").exists()
