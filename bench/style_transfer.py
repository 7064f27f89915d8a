"""Style-transfer speed at the paper's configuration, against this machine's own matmul peak, in one run.

    python bench/style_transfer.py --seconds 10 --evals 5 --json out/bench.json
    python bench/style_transfer.py --seconds 10 --evals 3 --lengths 1,10,30,300 --quality 30 --cache --json out/b.json

Every figure comes from one process tree in one run, so ratios are comparable on a shared machine: each
measurement runs in its own child process (its peak RSS is its own), one after another. The load average
is printed next to the figures. Effective throughput counts the *plain* formulation's FLOPs
(conv forward and input-backward 2·C·K·F·T' each, Gram forward and backward 2·T'·F² each), whatever
the implementation actually computes: algorithmic savings count.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SR, N_FFT, HOP = 44100, 2048, 512


# ----------------------------------------------------------------------------------------- test signals
def content_signal(seconds: float, seed: int = 0):
    """A piano-like melody: harmonic notes with decays, on a pentatonic scale."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    out = np.zeros(n, np.float32)
    note = int(0.25 * SR)
    t = np.arange(note * 3) / SR
    for start in range(0, n, note):
        f0 = 220.0 * 2 ** (rng.choice([0, 2, 4, 7, 9, 12, 14]) / 12)
        tone = sum((0.6 / h) * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 7)) * np.exp(-t * 3.0)
        seg = tone[: n - start]
        out[start:start + len(seg)] += seg.astype(np.float32)
    return out / np.abs(out).max() * 0.5


def style_signal(seconds: float, seed: int = 1):
    """A 120 bpm drum loop: kick, snare, hats."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    out = np.zeros(n, np.float32)
    beat = int(0.5 * SR)
    t = np.arange(int(0.3 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 12)
    snare = rng.standard_normal(len(t)) * np.exp(-t * 25) * 0.6
    hat = np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t * 80) * 0.3
    for i, start in enumerate(range(0, n, beat // 2)):
        parts = [hat] + ([kick] if i % 4 == 0 else []) + ([snare] if i % 4 == 2 else [])
        for p in parts:
            seg = p[: n - start]
            out[start:start + len(seg)] += seg.astype(np.float32)
    return out / np.abs(out).max() * 0.5


def log_spectrogram(signal):
    import numpy as np
    import torch

    from nodes._spectral import stft

    spec = stft(torch.from_numpy(signal)[None], N_FFT, HOP, N_FFT, "hann")[0]
    return np.log1p(spec.abs().numpy()).astype(np.float32)


# ----------------------------------------------------------------------------------------- FLOP counts
def plain_gflop(n_bins: int, n_frames: int, n_filters: int, width: int) -> float:
    n_out = n_frames - width + 1
    conv = 2 * 2 * n_bins * width * n_filters * n_out
    gram = 2 * 2 * n_out * n_filters * n_filters
    return (conv + gram) / 1e9


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------------------- workers
def worker_matmul(a: dict) -> dict:
    import torch

    dev = a["device"]
    n_out, kc, f = a["n_out"], a["kc"], a["filters"]
    rates = {}
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        if dtype_name not in a.get("dtypes", ("fp32", "bf16")):
            continue
        runs = []
        for shape in ((n_out, kc, f), (n_out, f, kc)):  # the conv forward and its input gradient
            x = torch.randn(shape[0], shape[1], device=dev).to(dtype)
            y = torch.randn(shape[1], shape[2], device=dev).to(dtype)
            torch.mm(x, y)
            for _ in range(a["repeats"]):
                _sync(dev)
                t = time.perf_counter()
                torch.mm(x, y)
                _sync(dev)
                runs.append(2 * shape[0] * shape[1] * shape[2] / (time.perf_counter() - t) / 1e9)
        rates[dtype_name] = {"median_gflops": statistics.median(runs), "runs": runs}
    return rates


def _sync(dev):
    import torch

    if str(dev).startswith("cuda"):
        torch.cuda.synchronize()


def _build(a: dict, content, style, cache=None):
    import torch

    from nodes._style import fast
    from nodes._style.core import FastObjective, PlainObjective, StyleConfig, layer_filters, style_targets

    cfg = StyleConfig(a["filters"], a["width"], 0.1, 1.0, a.get("iterations", 500), "lbfgs", 10, 1e-3, "frames",
                      implementation=a["implementation"], precision=a["precision"], tolerance=a.get("tolerance"))
    dev = a["device"]
    weights = layer_filters(content.shape[0], cfg, 0, dev)
    c = torch.from_numpy(content).to(dev)
    s = torch.from_numpy(style).to(dev)
    t0 = time.perf_counter()
    if a["implementation"] == "plain":
        objective = PlainObjective(c, [s], weights, cfg)
        style_seconds = None
    else:
        layers = [fast.Layer.from_weights(w, cfg.precision) for w in weights]
        targets = style_targets([s], layers, cfg, cache=cache)
        _sync(dev)
        style_seconds = time.perf_counter() - t0
        objective = FastObjective(c, layers, targets, cfg)
    _sync(dev)
    return cfg, objective, style_seconds, time.perf_counter() - t0


def worker_evals(a: dict) -> dict:
    import torch

    torch.manual_seed(0)
    content = log_spectrogram(content_signal(a["seconds"]))
    style = log_spectrogram(style_signal(a["style_seconds"]))
    cfg, objective, style_s, setup_s = _build(a, content, style)
    x = torch.from_numpy(content).to(a["device"]) * 0.5 + 0.01 * torch.randn(content.shape, device=a["device"])
    # This machine's GEMM rate right now, in this process: on a shared machine the load changes between
    # workers, so each run also reports its ratio to a peak measured beside it.
    n_out, kc = content.shape[1] - a["width"] + 1, a["width"] * content.shape[0]
    local = worker_matmul({"device": a["device"], "n_out": n_out, "kc": kc, "filters": a["filters"], "repeats": 2,
                           "dtypes": ("fp32",)})["fp32"]["runs"]
    times = []
    for i in range(a["evals"] + 1):  # the first one warms up buffers and kernels
        _sync(a["device"])
        t = time.perf_counter()
        loss = objective.loss_and_grad(x)[0]
        float(loss)
        _sync(a["device"])
        if i:
            times.append(time.perf_counter() - t)
    local += worker_matmul({"device": a["device"], "n_out": n_out, "kc": kc, "filters": a["filters"], "repeats": 2,
                            "dtypes": ("fp32",)})["fp32"]["runs"]
    out = {"seconds_per_eval": statistics.median(times), "eval_seconds": times, "setup_seconds": setup_s,
           "local_matmul_peak_gflops": statistics.median(local),
           "style_side_seconds": style_s, "loss": float(loss), "frames": content.shape[1],
           "style_frames": style.shape[1], "peak_rss_mb": peak_rss_mb()}
    if hasattr(objective, "layer_losses"):
        out["gram_form"] = "frame products (T'xT')" if objective.layer_losses[0].frame_products else "filter Gram (FxF)"
    if str(a["device"]).startswith("cuda"):
        out["peak_device_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def worker_optimise(a: dict) -> dict:
    """A real optimisation run; saves the result for the quality comparison."""
    import numpy as np
    import torch

    from nodes._style.core import _torch_lbfgs

    content = log_spectrogram(content_signal(a["seconds"]))
    style = log_spectrogram(style_signal(a["style_seconds"]))
    cfg, objective, style_s, setup_s = _build(a, content, style)
    start = torch.randn(content.shape, generator=torch.Generator().manual_seed(1)) * cfg.init_scale
    t = time.perf_counter()
    x, history = _torch_lbfgs(objective, start.to(a["device"]), cfg, None)
    seconds = time.perf_counter() - t
    result = x.detach().cpu().numpy()
    if a.get("save"):
        np.save(a["save"], result)
    return {"seconds": seconds, "setup_seconds": setup_s, "history": history.as_dict(),
            "iterations": len(history.iteration) - 1, "evaluations": history.evaluations,
            "peak_rss_mb": peak_rss_mb()}


def worker_fp32_loss(a: dict) -> dict:
    """The fp32 objective's loss, content and style terms at saved results (to compare precisions)."""
    import numpy as np
    import torch

    content = log_spectrogram(content_signal(a["seconds"]))
    style = log_spectrogram(style_signal(a["style_seconds"]))
    _, objective, _, _ = _build({**a, "implementation": "fast", "precision": "fp32"}, content, style)
    out = {}
    for name, path in a["results"].items():
        x = torch.from_numpy(np.load(path)).to(a["device"])
        loss, lc, ls, _ = objective.loss_and_grad(x)
        out[name] = {"loss": float(loss), "content_loss": float(lc), "style_loss": float(ls)}
    return out


def worker_cache(a: dict) -> dict:
    """Style side with a cold cache, then warm: what a second file with the same style saves."""
    from nodes._style.cache import StyleCache

    content = log_spectrogram(content_signal(a["seconds"]))
    style = log_spectrogram(style_signal(a["style_seconds"]))
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name in ("cold", "warm"):
            cache = StyleCache(d, a["filters"], 0, "frames")
            _, objective, style_s, setup_s = _build(a, content, style, cache)
            out[name] = {"style_side_seconds": style_s, "setup_seconds": setup_s, "hits": cache.hits,
                         "misses": cache.misses}
    return out


def worker_stem(a: dict) -> dict:
    """A long stereo stem through transfer() (what the node runs per channel): whole or segmented, peak RSS."""
    from nodes._style.core import StyleConfig, estimate_bytes, transfer

    style = log_spectrogram(style_signal(a["style_seconds"]))
    cfg = StyleConfig(a["filters"], a["width"], 0.1, 1.0, a["iterations"], "lbfgs", 10, 1e-3, "frames",
                      precision=a["precision"])
    channels = []
    t = time.perf_counter()
    for ch in range(2):
        content = log_spectrogram(content_signal(a["seconds"], seed=10 + ch))
        _, history = transfer(content, style, cfg, device=a["device"], seed=0)
        channels.append({"segments": history.segments, "evaluations": sum(h["evaluations"]
                                                                           for h in history.segment_histories)})
    full = estimate_bytes(content.shape[1], content.shape[0], cfg, min(style.shape[1] - a["width"] + 1, a["filters"]))
    return {"seconds": time.perf_counter() - t, "channels": channels, "peak_rss_mb": peak_rss_mb(),
            "lbfgs_history_mb_at_full_memory": 2 * cfg.history_size * content.size * 4 / 2 ** 20,
            "estimated_peak_mb_full_history": full / 2 ** 20, "frames": content.shape[1]}


WORKERS = {"stem": worker_stem, "matmul": worker_matmul, "evals": worker_evals, "optimise": worker_optimise, "fp32_loss": worker_fp32_loss,
           "cache": worker_cache}


def run_worker(kind: str, **args) -> dict:
    """Run one measurement in a fresh process (own peak RSS, no allocator history from the others)."""
    payload = json.dumps({"kind": kind, **args})
    proc = subprocess.run([sys.executable, __file__, "--worker", payload], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: benchmark worker {kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------- quality measures
def quality(content, style, result) -> dict:
    """Measures from the spectrograms alone, at equal level: content correlation of log-spectrograms;
    style distances as the output's position between content (1) and style (0) for the average spectral
    envelope and the covariance of 64 pooled bands."""
    import numpy as np

    def normalised(x):
        mag = np.expm1(np.maximum(x, 0))
        return mag / max(float(np.sqrt(np.mean(mag ** 2))), 1e-12)

    def envelope(x):
        return np.log1p(normalised(x)).mean(axis=1)

    def cov(x):
        mag = normalised(x)
        n = mag.shape[0] // 64 * 64
        return np.cov(np.log1p(mag[:n].reshape(64, -1, mag.shape[1]).mean(axis=1)))

    def position(fn):
        ref = np.linalg.norm(fn(content) - fn(style))
        return float(np.linalg.norm(fn(result) - fn(style)) / ref)

    corr = float(np.corrcoef(result.ravel(), content.ravel())[0, 1])
    return {"content_correlation": corr, "envelope_distance": position(envelope), "band_covariance_distance": position(cov)}


# ----------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="content length (paper: 10)")
    ap.add_argument("--style-seconds", type=float, default=20.0, help="style length (paper: 20)")
    ap.add_argument("--evals", type=int, default=3, help="timed loss+gradient evaluations per configuration")
    ap.add_argument("--filters", type=int, default=4096)
    ap.add_argument("--width", type=int, default=11)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--implementations", default="fast,plain", help="comma list of fast, plain")
    ap.add_argument("--precisions", default="fp32,bf16", help="comma list for the fast implementation")
    ap.add_argument("--matmul-repeats", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=0,
                    help="also run this many real L-BFGS iterations (fast fp32) for evaluations per iteration")
    ap.add_argument("--lengths", default="", help="comma list of content seconds for cost vs length (fast fp32)")
    ap.add_argument("--quality", type=int, default=0, help="iterations of fp32 vs bf16 runs to compare results")
    ap.add_argument("--time-to-result", type=int, default=0, metavar="N",
                    help="run N real iterations (paper: 500) with each --result-precisions and report the time to "
                         "within 0.1%% of the N-iteration loss, and where convergence tolerances would have stopped")
    ap.add_argument("--result-precisions", default="fp32")
    ap.add_argument("--stem", type=float, default=0.0, metavar="SECONDS",
                    help="run a stereo stem of this length through transfer() for --stem-iterations; peak RSS")
    ap.add_argument("--stem-iterations", type=int, default=2)
    ap.add_argument("--stem-precision", default="fp32")
    ap.add_argument("--cache", action="store_true", help="measure the style cache's saving on a second file")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        payload = json.loads(args.worker)
        import torch  # noqa: F401  (imported here so the parent stays light)
        print(json.dumps(WORKERS[payload.pop("kind")](payload)))
        return 0

    from audiostyle_engine.device import resolve_device

    device = resolve_device(args.device)
    n_bins = N_FFT // 2 + 1
    frames = int(SR * args.seconds) // HOP + 1
    common = dict(device=device, filters=args.filters, width=args.width, style_seconds=args.style_seconds)
    load_before = os.getloadavg()
    report = {"device": device, "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
              "config": {"seconds": args.seconds, "style_seconds": args.style_seconds, "n_fft": N_FFT, "hop": HOP,
                         "bins": n_bins, "frames": frames, "filters": args.filters, "kernel_width": args.width},
              "plain_gflop_per_eval": plain_gflop(n_bins, frames, args.filters, args.width)}
    t_start = time.perf_counter()

    mm = run_worker("matmul", device=device, n_out=frames - args.width + 1, kc=args.width * n_bins,
                    filters=args.filters, repeats=args.matmul_repeats)
    peak = mm["fp32"]["median_gflops"]
    report["matmul_peak_gflops"] = peak
    report["matmul_bf16_gflops"] = mm["bf16"]["median_gflops"]

    runs = {}
    for impl in [s for s in args.implementations.split(",") if s]:
        for precision in ([s for s in args.precisions.split(",") if s] if impl == "fast" else ["fp32"]):
            name = f"{impl}-{precision}"
            r = run_worker("evals", implementation=impl, precision=precision, seconds=args.seconds, evals=args.evals,
                           **common)
            r["effective_gflops"] = report["plain_gflop_per_eval"] / r["seconds_per_eval"]
            r["ratio_to_matmul_peak"] = r["effective_gflops"] / peak
            r["ratio_to_local_matmul_peak"] = r["effective_gflops"] / r["local_matmul_peak_gflops"]
            runs[name] = r
    report["runs"] = runs
    headline = runs.get("fast-fp32") or next(iter(runs.values()))
    for key in ("seconds_per_eval", "effective_gflops", "peak_rss_mb"):
        report[key] = headline[key]
    report["ratio_to_matmul_peak"] = headline["ratio_to_matmul_peak"]
    report["ratio_to_local_matmul_peak"] = headline["ratio_to_local_matmul_peak"]
    if "fast-fp32" in runs and "plain-fp32" in runs:
        report["speedup_fast_vs_plain"] = runs["plain-fp32"]["seconds_per_eval"] / runs["fast-fp32"]["seconds_per_eval"]
    if "fast-fp32" in runs and "fast-bf16" in runs:
        report["speedup_bf16_vs_fp32"] = runs["fast-fp32"]["seconds_per_eval"] / runs["fast-bf16"]["seconds_per_eval"]

    evals_per_iteration = 1.3  # typical of strong-Wolfe L-BFGS here, replaced by a measurement with --iterations
    if args.iterations:
        opt = run_worker("optimise", implementation="fast", precision="fp32", seconds=args.seconds,
                         iterations=args.iterations, **common)
        evals_per_iteration = opt["evaluations"] / max(opt["iterations"], 1)
        report["optimise"] = {k: opt[k] for k in ("seconds", "iterations", "evaluations", "peak_rss_mb")}
    report["evals_per_iteration"] = evals_per_iteration
    report["projected_500_iterations_seconds"] = {
        name: 500 * evals_per_iteration * r["seconds_per_eval"] for name, r in runs.items()}

    if args.lengths:
        lengths = [float(s) for s in args.lengths.split(",") if s]
        per_length = {}
        for seconds in lengths:
            r = run_worker("evals", implementation="fast", precision="fp32", seconds=seconds,
                           evals=max(1, args.evals if seconds <= 60 else 1), **common)
            r["plain_gflop_per_eval"] = plain_gflop(n_bins, r["frames"], args.filters, args.width)
            r["effective_gflops"] = r["plain_gflop_per_eval"] / r["seconds_per_eval"]
            per_length[str(seconds)] = r
        xs, ys = lengths, [per_length[str(s)]["seconds_per_eval"] for s in lengths]
        slope, intercept = _fit(xs, ys)
        report["cost_vs_length"] = {"runs": per_length, "slope_seconds_per_eval_per_content_second": slope,
                                    "intercept_seconds": intercept,
                                    "r_squared": _r2(xs, ys, slope, intercept)}

    if args.cache:
        report["style_cache"] = run_worker("cache", implementation="fast", precision="fp32", seconds=args.seconds,
                                           **common)
        cold, warm = report["style_cache"]["cold"], report["style_cache"]["warm"]
        report["style_cache"]["style_side_speedup"] = cold["style_side_seconds"] / max(warm["style_side_seconds"], 1e-9)

    if args.quality:
        report["quality"] = _quality_runs(args, common)

    if args.time_to_result:
        report["time_to_result"] = {
            p: _time_to_result(run_worker("optimise", implementation="fast", precision=p, seconds=args.seconds,
                                          iterations=args.time_to_result, **common))
            for p in args.result_precisions.split(",") if p}

    if args.stem:
        report["stem"] = run_worker("stem", seconds=args.stem, iterations=args.stem_iterations,
                                    precision=args.stem_precision, **common)

    report["bench_seconds"] = time.perf_counter() - t_start
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print_table(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_name(f".{args.json.name}.partial")
        tmp.write_text(json.dumps(report, indent=2))
        os.replace(tmp, args.json)
    return 0


def _quality_runs(args, common) -> dict:
    import numpy as np

    content = log_spectrogram(content_signal(args.seconds))
    style = log_spectrogram(style_signal(args.style_seconds))
    out, paths = {}, {}
    with tempfile.TemporaryDirectory() as d:
        for precision in ("fp32", "bf16"):
            paths[precision] = str(Path(d) / f"{precision}.npy")
            r = run_worker("optimise", implementation="fast", precision=precision, seconds=args.seconds,
                           iterations=args.quality, save=paths[precision], **common)
            result = np.load(paths[precision])
            out[precision] = {"seconds": r["seconds"], "iterations": r["iterations"], "evaluations": r["evaluations"],
                              "own_final_loss": r["history"]["loss"][-1], **quality(content, style, result)}
        losses = run_worker("fp32_loss", seconds=args.seconds, results=paths, **common)
    for precision in out:
        out[precision]["fp32_objective"] = losses[precision]
    f, b = out["fp32"], out["bf16"]
    out["bf16_vs_fp32"] = {
        "time_ratio": f["seconds"] / b["seconds"],
        "content_correlation_difference": b["content_correlation"] - f["content_correlation"],
        "envelope_distance_ratio": b["envelope_distance"] / f["envelope_distance"],
        "band_covariance_distance_ratio": b["band_covariance_distance"] / f["band_covariance_distance"],
        "style_loss_ratio": b["fp32_objective"]["style_loss"] / f["fp32_objective"]["style_loss"],
        "final_loss_ratio": b["fp32_objective"]["loss"] / f["fp32_objective"]["loss"]}
    return out


def _time_to_result(run: dict, tolerances=(1e-2, 3e-3, 1e-3, 3e-4, 1e-4), window: int = 10) -> dict:
    """From one trajectory: when the loss came within 0.1 % of its final value, and where each tolerance
    (relative decrease over ``window`` iterations, as StyleConfig.tolerance) would have stopped it."""
    from nodes._style.core import converged

    h = run["history"]
    losses, seconds, final = h["loss"], h["seconds"], h["loss"][-1]
    within = next(i for i, loss in enumerate(losses) if loss <= final * 1.001)
    stops = {}
    for tol in tolerances:
        stop = next((i for i in range(len(losses)) if converged(losses[:i + 1], tol, window)), len(losses) - 1)
        stops[str(tol)] = {"iteration": h["iteration"][stop], "seconds": seconds[stop],
                           "loss_above_final": losses[stop] / final - 1}
    return {"iterations": run["iterations"], "evaluations": run["evaluations"], "seconds": run["seconds"],
            "final_loss": final, "stopped": h["stopped"], "within_0.1pct_iteration": h["iteration"][within],
            "within_0.1pct_seconds": seconds[within], "tolerance_stops": stops,
            "loss_at": {str(i): losses[i] for i in (10, 34, 50, 100, 200, 300, 400) if i < len(losses)}}


def _fit(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return slope, my - slope * mx


def _r2(xs, ys, slope, intercept):
    my = statistics.fmean(ys)
    tot = sum((y - my) ** 2 for y in ys)
    res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys))
    return 1 - res / tot if tot else 1.0


def print_table(r: dict) -> None:
    c = r["config"]
    print(f"style-transfer benchmark — device {r['device']}, {r['cpu_count']} CPUs, load average "
          f"{r['load_average']['before'][0]:.2f} → {r['load_average']['after'][0]:.2f}")
    print(f"content {c['seconds']:g} s ({c['frames']} frames), style {c['style_seconds']:g} s, {c['bins']} bins, "
          f"{c['filters']} filters, width {c['kernel_width']}: plain FLOP count {r['plain_gflop_per_eval']:.1f} GFLOP/eval")
    print(f"matmul peak at the conv's GEMM shapes: fp32 {r['matmul_peak_gflops']:.0f} GFLOP/s, "
          f"bf16 {r['matmul_bf16_gflops']:.0f} GFLOP/s (/local: fp32 peak re-measured inside each run, before and after)")
    print(f"{'run':<12}{'s/eval':>9}{'eff GFLOP/s':>13}{'/peak':>8}{'/local':>8}{'500 it (s)':>12}{'peak RSS MB':>13}"
          "  gram form")
    for name, run in r["runs"].items():
        print(f"{name:<12}{run['seconds_per_eval']:>9.3f}{run['effective_gflops']:>13.0f}"
              f"{run['ratio_to_matmul_peak']:>8.2f}{run['ratio_to_local_matmul_peak']:>8.2f}"
              f"{r['projected_500_iterations_seconds'][name]:>12.0f}"
              f"{run['peak_rss_mb']:>13.0f}  {run.get('gram_form', 'autograd')}")
    for key, label in (("speedup_fast_vs_plain", "fast vs plain"), ("speedup_bf16_vs_fp32", "bf16 vs fp32")):
        if key in r:
            print(f"speed-up {label}: {r[key]:.2f}x")
    print(f"evaluations per L-BFGS iteration: {r['evals_per_iteration']:.2f}"
          + (" (measured)" if "optimise" in r else " (assumed)"))
    if "cost_vs_length" in r:
        cl = r["cost_vs_length"]
        print("cost vs length (fast fp32):")
        for seconds, run in cl["runs"].items():
            print(f"  {float(seconds):>6g} s content: {run['seconds_per_eval']:8.3f} s/eval, "
                  f"{run['effective_gflops']:6.0f} eff GFLOP/s, peak RSS {run['peak_rss_mb']:.0f} MB, {run.get('gram_form')}")
        print(f"  fitted slope {cl['slope_seconds_per_eval_per_content_second']:.4f} s/eval per content second, "
              f"intercept {cl['intercept_seconds']:.3f} s, R² {cl['r_squared']:.4f}")
    if "style_cache" in r:
        sc = r["style_cache"]
        print(f"style side: cold {sc['cold']['style_side_seconds']:.2f} s, cached {sc['warm']['style_side_seconds']:.2f} s "
              f"({sc['style_side_speedup']:.1f}x); setup {sc['cold']['setup_seconds']:.2f} → {sc['warm']['setup_seconds']:.2f} s")
    if "quality" in r:
        q = r["quality"]
        for p in ("fp32", "bf16"):
            x = q[p]
            print(f"  {p}: {x['iterations']} it in {x['seconds']:.1f} s, content corr {x['content_correlation']:.4f}, "
                  f"envelope dist {x['envelope_distance']:.4f}, band-cov dist {x['band_covariance_distance']:.4f}, "
                  f"fp32 loss {x['fp32_objective']['loss']:.6g} (style {x['fp32_objective']['style_loss']:.6g})")
        v = q["bf16_vs_fp32"]
        print(f"  bf16 vs fp32 at equal iterations: time ratio {v['time_ratio']:.2f}x, content corr "
              f"{v['content_correlation_difference']:+.4f}, envelope dist x{v['envelope_distance_ratio']:.3f}, "
              f"band-cov dist x{v['band_covariance_distance_ratio']:.3f}, style loss x{v['style_loss_ratio']:.3f}, "
              f"final loss x{v['final_loss_ratio']:.4f}")
    if "stem" in r:
        st = r["stem"]
        modes = ", ".join(f"{c['segments']['mode']} ({len(c['segments']['ranges'])} part)" for c in st["channels"])
        print(f"stereo stem {st['frames']} frames/channel: {modes}; {st['seconds']:.0f} s, peak RSS "
              f"{st['peak_rss_mb']:.0f} MB after {sum(c['evaluations'] for c in st['channels'])} evaluations; "
              f"estimated peak with a full L-BFGS history {st['estimated_peak_mb_full_history']:.0f} MB")
    if "time_to_result" in r:
        for p, t in r["time_to_result"].items():
            print(f"time to result ({p}): {t['iterations']} it, {t['evaluations']} evals in {t['seconds']:.0f} s, final loss "
                  f"{t['final_loss']:.6g}; within 0.1 % at iteration {t['within_0.1pct_iteration']} "
                  f"({t['within_0.1pct_seconds']:.0f} s)")
            for tol, stop in t["tolerance_stops"].items():
                print(f"  tolerance {tol} over 10 it: stops at iteration {stop['iteration']} ({stop['seconds']:.0f} s), "
                      f"loss {100 * stop['loss_above_final']:.3f} % above final")


if __name__ == "__main__":
    sys.exit(main())
