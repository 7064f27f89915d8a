"""Batch throughput: the FX-only graph (high-pass, compressor, reverb, limiter) over one-minute stereo
files with the engine (1 and 2 worker processes, and Ray when installed) next to a plain pedalboard
read-process-write loop over the same files, all in one run so the ratios share the machine's load.

    python3 bench/batch.py                 # 20 files × 60 s
    python3 bench/batch.py --files 4 --seconds 10 --repeat 1 --no-ray   # a quick look
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from audiostyle_engine.modes.coordinator import run_batch  # noqa: E402
from audiostyle_engine.modes.plan import Plan  # noqa: E402
from audiostyle_engine.modes.pools import InlineExecutor, ProcessExecutor  # noqa: E402

GRAPH = REPO / "graphs" / "fx_master.yaml"
SR = 44100
BIT_DEPTH = 24  # what the graph's write node writes by default; the plain loop writes the same


def make_files(folder: Path, count: int, seconds: float) -> list[Path]:
    from pedalboard.io import AudioFile

    rng = np.random.default_rng(7)
    t = np.arange(int(SR * seconds)) / SR
    files = []
    for i in range(count):
        tone = sum(0.15 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(60, 2000, size=4))
        beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95) * rng.standard_normal(t.size) * 0.4
        left = tone + beat + 0.02 * rng.standard_normal(t.size)
        right = np.roll(left, 200) + 0.02 * rng.standard_normal(t.size)
        path = folder / f"stem {i:02d}.wav"
        with AudioFile(str(path), "w", samplerate=SR, num_channels=2, bit_depth=BIT_DEPTH) as f:
            f.write(np.stack([left, right]).astype(np.float32) * 0.5)
        files.append(path)
    return files


def plain_loop(files: list[Path], out_dir: Path) -> float:
    """What a person would write by hand with pedalboard: same effects and settings as the graph."""
    import pedalboard
    from pedalboard.io import AudioFile

    out_dir.mkdir(parents=True, exist_ok=True)
    board = pedalboard.Pedalboard([
        pedalboard.HighpassFilter(cutoff_frequency_hz=40),
        pedalboard.Compressor(threshold_db=-18, ratio=3, attack_ms=5, release_ms=120),
        pedalboard.Reverb(room_size=0.3, wet_level=0.15, dry_level=0.85),
        pedalboard.Limiter(threshold_db=-1.0, release_ms=100),
    ])
    t0 = time.perf_counter()
    for path in files:
        with AudioFile(str(path)) as f:
            audio, sr = f.read(f.frames), f.samplerate
        processed = board(audio, sr, reset=True)
        with AudioFile(str(out_dir / path.name), "w", samplerate=sr, num_channels=processed.shape[0],
                       bit_depth=BIT_DEPTH) as f:
            f.write(processed)
    return time.perf_counter() - t0


def _spin(_=None) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return time.perf_counter() - t0


def parallel_headroom() -> float:
    """How much more two CPU-bound processes get done than one, on this machine, now: the ceiling for
    any 2-worker speed-up (1.0 on a machine whose cores are taken by other jobs, 2.0 on an idle one)."""
    from concurrent.futures import ProcessPoolExecutor

    ratios = []
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [0, 1]))  # start both processes
        for _ in range(3):  # best of three: the load on a shared machine comes and goes
            one = pool.submit(_spin).result()
            t0 = time.perf_counter()
            list(pool.map(_spin, [0, 1]))
            ratios.append(2 * one / (time.perf_counter() - t0))
    return max(ratios)


def engine(in_dir: Path, files: list[Path], out_dir: Path, executor=None, make_executor=None) -> float:
    """Seconds for a whole batch run: graph check, hashing, journal and per-file validation included.
    With ``make_executor`` the executor's start-up is timed too; a given ``executor`` is already warm."""
    shutil.rmtree(out_dir, ignore_errors=True)
    t0 = time.perf_counter()
    plan = Plan.create(GRAPH, in_dir, out_dir)
    own = executor is None
    if own:
        executor = make_executor()
    try:
        results = run_batch(plan, files, executor)
    finally:
        if own:
            executor.shutdown()
    seconds = time.perf_counter() - t0
    failed = [r for r in results if r.status != "done"]
    if failed:
        raise SystemExit(f"engine run failed: {failed[0].rel}: {failed[0].error}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray row")
    ap.add_argument("--repeat", type=int, default=3, help="rounds over all configurations")
    ap.add_argument("--folder", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = ap.parse_args()

    work = Path(args.folder or tempfile.mkdtemp(prefix="audiostyle-bench-"))
    in_dir = work / "in"
    in_dir.mkdir(parents=True, exist_ok=True)
    files = make_files(in_dir, args.files, args.seconds)
    audio_seconds = args.files * args.seconds
    print(f"{args.files} files × {args.seconds:g} s stereo, {os.cpu_count()} CPUs, "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # Warm up both paths on one file (first-use costs of pedalboard and imports), untimed.
    plain_loop(files[:1], work / "warm-plain")
    engine(in_dir, files[:1], work / "warm-engine", InlineExecutor())
    pool = ProcessExecutor(2)
    pool.warm_up()
    runs = {
        "plain pedalboard loop": lambda: plain_loop(files, work / "plain"),
        "engine, 1 worker": lambda: engine(in_dir, files, work / "e1", InlineExecutor()),
        "engine, 2 workers (warm pool)": lambda: engine(in_dir, files, work / "e2", pool),
        "engine, 2 workers (pool start incl.)": lambda: engine(in_dir, files, work / "e2c",
                                                                make_executor=lambda: ProcessExecutor(2)),
    }
    ray_executor = None
    if not args.no_ray:
        try:
            from audiostyle_engine.modes.ray_pool import RayExecutor

            t0 = time.perf_counter()
            ray_executor = RayExecutor(workers=2)
            ray_executor.warm_up()
            print(f"Ray local instance (2 CPUs) started in {time.perf_counter() - t0:.1f} s (not in the figures)")
            runs["engine, Ray local, 2 CPUs (warm)"] = lambda: engine(in_dir, files, work / "ray", ray_executor)
        except Exception as exc:  # Ray is optional
            print(f"skipping the Ray row: {exc}")
    times: dict[str, list[float]] = {name: [] for name in runs}
    # CPU seconds of this process (all its threads): less swayed by other jobs on a shared machine than
    # wall time, but only meaningful for the runs that do all their work here.
    in_process = ("plain pedalboard loop", "engine, 1 worker")
    cpu: dict[str, list[float]] = {name: [] for name in in_process}
    try:
        for _ in range(args.repeat):  # rounds interleave the configurations, so load swings hit all of them
            for name, run in runs.items():
                c0 = time.process_time()
                times[name].append(run())
                if name in cpu:
                    cpu[name].append(time.process_time() - c0)
    finally:
        pool.shutdown()
        if ray_executor:
            ray_executor.shutdown()

    headroom = parallel_headroom()
    best = {name: min(t) for name, t in times.items()}
    plain, one = best["plain pedalboard loop"], best["engine, 1 worker"]
    print(f"best of {args.repeat} rounds; ratios from the best times")
    print(f"{'run':<40} {'best s':>7} {'median s':>9} {'files/min':>10} {'× realtime':>11} {'vs plain':>9} "
          f"{'vs 1 worker':>12}")
    for name, seconds in best.items():
        median = sorted(times[name])[len(times[name]) // 2]
        print(f"{name:<40} {seconds:7.2f} {median:9.2f} {60 * args.files / seconds:10.1f} "
              f"{audio_seconds / seconds:11.1f} {plain / seconds:9.2f} {one / seconds:12.2f}")
    plain_cpu, one_cpu = min(cpu["plain pedalboard loop"]), min(cpu["engine, 1 worker"])
    print(f"CPU seconds (best): plain loop {plain_cpu:.2f}, engine 1 worker {one_cpu:.2f} "
          f"→ engine does the same work with {plain_cpu / one_cpu:.2f}× the plain loop's CPU efficiency")
    print(f"control: 2 CPU-bound processes do {headroom:.2f}× the work of 1 on this machine right now "
          "(the ceiling for the 2-worker rows)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.folder:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
