"""audiostyle watch with a real watchdog observer on temporary folders."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from audiostyle_engine.modes.plan import Plan
from audiostyle_engine.modes.pools import InlineExecutor
from audiostyle_engine.modes.journal import file_hash
from audiostyle_engine.modes.watch import watch
from tests.helpers import REPO
from tests.helpers.audio import noise, read_audio, sine, write_audio
from tests.helpers.folders import journal_rows, partial_files
from tests.helpers.graphs import half_gain_graph

# Waiting limits only stop a broken test from hanging; nothing asserts on speed.
PATIENCE = 120.0


def wait_for(condition, what: str, patience: float = PATIENCE):
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def rows_or_empty(out: Path) -> dict:
    if not (out / ".audiostyle-journal.sqlite").exists():
        return {}
    try:
        return journal_rows(out)
    except sqlite3.OperationalError:  # journal being created right now
        return {}


def finished(out: Path, count: int):
    rows = rows_or_empty(out)
    settled = [r for r in rows.values() if r["status"] in ("done", "failed")]
    return rows if len(settled) >= count else None


@contextlib.contextmanager
def watching(graph: Path, src: Path, out: Path, settle: float = 1.0):
    """watch() on a thread, with the real (inotify) observer; stopped and joined on exit."""
    plan = Plan.create(graph, src, out)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run():
        try:
            watch(plan, InlineExecutor(), None, settle_seconds=settle, stop_event=stop, install_signals=False,
                  poll_seconds=0.05)
        except BaseException as exc:  # surfaced in the test below
            errors.append(exc)

    thread = threading.Thread(target=run, name="watch-under-test")
    thread.start()
    try:
        yield plan
    finally:
        stop.set()
        thread.join(PATIENCE)
    assert not thread.is_alive()
    assert not errors, errors


def wav_bytes(samples: np.ndarray) -> bytes:
    from pedalboard.io import AudioFile

    buffer = io.BytesIO()
    with AudioFile(buffer, "w", samplerate=44100, num_channels=samples.shape[0], format="wav", bit_depth=16) as f:
        f.write(samples)
    return buffer.getvalue()


def test_slow_chunked_copy_is_processed_once_after_it_is_complete(tmp_path, rng):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    data = wav_bytes(noise(rng, seconds=1.0, channels=2))
    target = src / "slow copy.wav"
    with watching(half_gain_graph(tmp_path), src, out, settle=2.0):
        chunks = np.array_split(np.frombuffer(data, dtype=np.uint8), 12)
        with open(target, "wb") as f:
            for chunk in chunks:  # like a network copy: the file grows for a while
                f.write(chunk.tobytes())
                f.flush()
                os.fsync(f.fileno())
                time.sleep(0.1)
        copy_done = time.time()
        rows = wait_for(lambda: finished(out, 1), "the copied file to be processed")
    row = rows["slow copy.wav"]
    assert row["status"] == "done" and row["attempts"] == 1
    assert row["started_at"] >= copy_done  # never started on the half-written file
    assert row["content_hash"] == file_hash(target)
    got, _ = read_audio(out / "slow copy.wav")
    original, _ = read_audio(target)
    assert got.shape == original.shape == (2, 44100)
    np.testing.assert_allclose(got, 0.5 * original, atol=1e-4)


def test_burst_of_50_small_files_gives_50_outputs(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "burst").mkdir(parents=True)
    with watching(half_gain_graph(tmp_path), src, out, settle=0.5):
        for i in range(50):
            write_audio(src / "burst" / f"hit {i:02d}.wav", sine(hz=200 + 10 * i, seconds=0.1))
        rows = wait_for(lambda: finished(out, 50), "50 files to be processed")
    assert len(rows) == 50
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in rows.values())
    outputs = sorted(p.name for p in (out / "burst").iterdir() if not p.name.endswith(".provenance.json"))
    assert outputs == [f"hit {i:02d}.wav" for i in range(50)]
    got, _ = read_audio(out / "burst" / "hit 07.wav")
    np.testing.assert_allclose(got, 0.5 * read_audio(src / "burst" / "hit 07.wav")[0], atol=1e-4)


def test_corrupt_file_gets_error_txt_and_watcher_keeps_going(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    with watching(half_gain_graph(tmp_path), src, out, settle=0.5):
        (src / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 8)
        wait_for(lambda: finished(out, 1), "the corrupt file to be recorded")
        write_audio(src / "fine.wav", sine(seconds=0.3))
        rows = wait_for(lambda: finished(out, 2), "the next file after the corrupt one")
        write_audio(src / "fine.wav", sine(hz=880, seconds=0.4))  # replaced: processed again
        rows = wait_for(lambda: (lambda r: r if r["fine.wav"]["attempts"] == 2 and r["fine.wav"]["status"] == "done"
                                 else None)(rows_or_empty(out)), "the replaced file to be processed again")
    assert rows["broken.wav"]["status"] == "failed"
    assert "cannot decode" in (out / "broken.wav.error.txt").read_text()
    got, _ = read_audio(out / "fine.wav")
    np.testing.assert_allclose(got, 0.5 * read_audio(src / "fine.wav")[0], atol=1e-4)  # from the new content
    assert not (out / "broken.wav").exists()


def test_temporary_and_hidden_files_are_ignored_until_renamed(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / ".cache").mkdir()
    with watching(half_gain_graph(tmp_path), src, out, settle=0.5):
        (src / "download.wav.part").write_bytes(wav_bytes(sine(seconds=0.2)))
        for name in ("song.crdownload", ".hidden.wav", "edit.wav~", "take.tmp"):
            (src / name).write_bytes(b"still being written")
        write_audio(src / ".cache" / "peak.wav", sine(seconds=0.2))
        os.replace(src / "download.wav.part", src / "download.wav")  # how browsers finish a download
        rows = wait_for(lambda: finished(out, 1), "the renamed download")
        time.sleep(1.0)  # give ignored files the chance to (wrongly) show up
        rows = rows_or_empty(out)
    assert list(rows) == ["download.wav"]
    assert rows["download.wav"]["attempts"] == 1


def start_watch(graph: Path, src: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Its own process group, so a test can freeze the coordinator and its workers at one instant.
    return subprocess.Popen([sys.executable, str(REPO / "cli.py"), "watch", str(graph), str(src), str(out),
                             "--settle", "0.3", *extra], cwd=str(out.parent), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@contextlib.contextmanager
def watch_process(graph: Path, src: Path, out: Path, *extra: str):
    """A watch process that is killed (and reaped) if the test leaves it running."""
    proc = start_watch(graph, src, out, *extra)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def committed(row) -> bool:
    """Killed between renaming its output into place and recording it: the output is complete."""
    output = Path(row["output"])
    return output.exists() and output.stat().st_ino != row["output_inode"]


def kill_9_mid_job(proc: subprocess.Popen, out: Path) -> dict:
    """kill -9 the watch while one job is done and another is running and not yet committed.

    The whole process group is frozen (SIGSTOP) before the journal is read, so what is read is what the
    kill meets; when the running job turns out to have committed already, it is let go and tried again."""
    while True:
        def one_done_one_running():
            statuses = [r["status"] for r in rows_or_empty(out).values()]
            return "done" in statuses and "running" in statuses
        wait_for(one_done_one_running, "a finished job and a running one")
        os.killpg(proc.pid, signal.SIGSTOP)
        rows = journal_rows(out)
        if any(r["status"] == "running" and not committed(r) for r in rows.values()):
            proc.send_signal(signal.SIGKILL)  # the coordinator only; its workers die with it (PDEATHSIG)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)
            proc.communicate()
            return rows
        os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.05)


SLOW_SECONDS = 20  # with SLOW_GRAPH, about a second of work per file: long enough to be killed mid-job
SLOW_GRAPH = """
variables: {content: x.wav, out: o.wav}
nodes:
  source: {type: load, path: "${content}"}
  rooms:
    type: fx
    inputs: {audio: source}
    tail: 0
    chain: [%s]
  save: {type: write, inputs: {audio: rooms}, path: "${out}", bit_depth: 32}
""" % ", ".join(["{effect: Reverb, room_size: 0.5, wet_level: 0.1, dry_level: 0.9}"] * 16)


# one worker is the simpler case of two; the slow run keeps it (each costs ~15 s of the default suite)
@pytest.mark.parametrize("workers", [pytest.param("1", marks=pytest.mark.slow), "2"])
def test_kill_9_mid_job_then_restart_leaves_one_complete_output_per_input(tmp_path, rng, workers):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    graph = half_gain_graph(tmp_path, SLOW_GRAPH)
    names = [f"stem {i}.wav" for i in range(3)]
    for name in names:
        write_audio(src / name, noise(rng, seconds=SLOW_SECONDS, channels=2))
    with watch_process(graph, src, out, "--workers", workers) as proc:
        before_kill = kill_9_mid_job(proc, out)  # the state the killed process left
    done_before = {rel for rel, r in before_kill.items() if r["status"] == "done" or
                   (r["status"] == "running" and committed(r))}
    interrupted = {rel for rel, r in before_kill.items() if r["status"] == "running" and not committed(r)}

    with watch_process(graph, src, out, "--workers", workers) as proc:
        rows = wait_for(lambda: (lambda r: r if len(r) == len(names) and all(x["status"] == "done" for x in r.values())
                                 else None)(rows_or_empty(out)), "every file to be done after the restart")
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=PATIENCE)
    assert proc.returncode == 0, log
    assert interrupted and done_before  # the kill met a finished job and one in the middle of its work
    assert "interrupted by an earlier run" in log
    for rel in done_before:
        assert rows[rel]["attempts"] == 1  # not redone
    for rel in interrupted:
        assert rows[rel]["attempts"] == 2  # redone once
    produced = sorted(p.name for p in out.iterdir() if p.suffix == ".wav")
    assert produced == sorted(names)
    assert partial_files(out) == []
    for name in names:
        got, _ = read_audio(out / name)
        assert got.shape == (2, SLOW_SECONDS * 44100) and np.all(np.isfinite(got)) and np.abs(got).max() > 0.1


def test_sigterm_lets_the_running_job_finish(tmp_path, rng):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    graph = half_gain_graph(tmp_path, SLOW_GRAPH)
    with watch_process(graph, src, out) as proc:
        write_audio(src / "long.wav", noise(rng, seconds=SLOW_SECONDS, channels=2))
        wait_for(lambda: any(r["status"] == "running" for r in rows_or_empty(out).values()), "the job to start")
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=PATIENCE)
    assert proc.returncode == 0, log
    assert "stopping after the running job" in log
    assert journal_rows(out)["long.wav"]["status"] == "done"
    got, _ = read_audio(out / "long.wav")
    assert got.shape == (2, SLOW_SECONDS * 44100)
    assert partial_files(out) == []


def test_polling_observer_for_network_shares(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    plan = Plan.create(half_gain_graph(tmp_path), src, out)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(plan, InlineExecutor()),
                              kwargs=dict(settle_seconds=0.3, polling=True, stop_event=stop, install_signals=False,
                                          poll_seconds=0.05))
    thread.start()
    try:
        write_audio(src / "share.wav", sine(seconds=0.2))
        rows = wait_for(lambda: finished(out, 1), "the file on the polled folder")
    finally:
        stop.set()
        thread.join(PATIENCE)
    assert rows["share.wav"]["status"] == "done"


def test_symlinks_dropped_into_the_watched_folder_are_not_followed_out(tmp_path):
    src, out, private = tmp_path / "in", tmp_path / "out", tmp_path / "private"
    src.mkdir()
    private.mkdir()
    write_audio(private / "secret.wav", sine(seconds=0.2))
    with watching(half_gain_graph(tmp_path), src, out, settle=0.5):
        os.symlink(private / "secret.wav", src / "secret link.wav")
        os.symlink(private, src / "private link")
        write_audio(src / "public.wav", sine(seconds=0.2))
        wait_for(lambda: finished(out, 1), "the public file")
        time.sleep(1.0)  # give the links the chance to (wrongly) be processed
        rows = rows_or_empty(out)
    assert list(rows) == ["public.wav"]


def test_changing_the_graph_file_stops_the_watch_with_a_clear_message(tmp_path):
    from audiostyle_engine.errors import GraphChangedError

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    graph = half_gain_graph(tmp_path)
    plan = Plan.create(graph, src, out)
    errors: list[BaseException] = []
    stop = threading.Event()

    def run():
        try:
            watch(plan, InlineExecutor(), None, settle_seconds=0.3, stop_event=stop, install_signals=False,
                  poll_seconds=0.05)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="watch-under-test")
    thread.start()
    try:
        write_audio(src / "first.wav", sine(seconds=0.2))
        wait_for(lambda: finished(out, 1), "the first file")
        graph.write_text(graph.read_text().replace("-6.020599913", "-12"), encoding="utf-8")
        thread.join(PATIENCE)
        still_watching = thread.is_alive()
    finally:
        stop.set()  # when the watch did not notice, stop it so the test fails instead of hanging
        thread.join(PATIENCE)
    assert not still_watching
    assert len(errors) == 1 and isinstance(errors[0], GraphChangedError), errors
    assert "changed while watching" in str(errors[0]) and "start it again" in str(errors[0])
    assert journal_rows(out)["first.wav"]["status"] == "done"


def test_saving_the_graph_file_unchanged_keeps_the_watch_running(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    graph = half_gain_graph(tmp_path)
    with watching(graph, src, out, settle=0.3):
        graph.write_text(graph.read_text(), encoding="utf-8")  # touched (new mtime), same text
        os.utime(graph, ns=(time.time_ns(), time.time_ns() + 10**9))
        time.sleep(0.3)
        write_audio(src / "after.wav", sine(seconds=0.2))
        rows = wait_for(lambda: finished(out, 1), "a file dropped after the graph was touched")
    assert rows["after.wav"]["status"] == "done"
