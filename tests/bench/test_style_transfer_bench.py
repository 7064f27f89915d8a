"""Smoke run of bench/style_transfer.py at a tiny size: the figures it must write exist and make sense."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_style_transfer", REPO / "bench" / "style_transfer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_writes_the_required_figures_and_skips_a_slow_bf16(tmp_path, capsys, monkeypatch):
    """One run (each worker pays a torch import): the figures exist and make sense, and where the small probe
    GEMM measures bf16 slower (an AVX2-only CPU: ~40x), no full-size bf16 run starts: not the matmul peak, not
    the evaluations (before, the matmul probe alone ran for over 13 minutes there)."""
    bench = load_bench()
    real, kinds = bench.run_worker, []

    def run_worker(kind, **args):
        kinds.append((kind, args.get("precision"), tuple(args.get("dtypes", ()))))
        if kind == "bf16_probe":
            return {"speedup": 0.025, "why": "AMD EPYC, flags avx2"}
        return real(kind, **args)

    monkeypatch.setattr(bench, "run_worker", run_worker)
    out = tmp_path / "bench.json"
    assert bench.main(["--seconds", "0.6", "--style-seconds", "0.8", "--evals", "1", "--filters", "16",
                       "--matmul-repeats", "1", "--precisions", "fp32,bf16", "--lengths", "0.5,1", "--cache",
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("seconds_per_eval", "plain_gflop_per_eval", "effective_gflops", "matmul_peak_gflops",
                "peak_rss_mb", "device", "ratio_to_matmul_peak", "projected_500_iterations_seconds"):
        assert key in report
    assert report["device"] == "cpu"
    assert report["seconds_per_eval"] > 0 and report["peak_rss_mb"] > 50
    # 0.6 s → 52 frames, 42 after the 11-wide conv: 2·2·1025·11·16·42 + 2·2·42·16² flops
    assert abs(report["plain_gflop_per_eval"] - (4 * 1025 * 11 * 16 * 42 + 4 * 42 * 16 * 16) / 1e9) < 1e-12
    assert abs(report["effective_gflops"] - report["plain_gflop_per_eval"] / report["seconds_per_eval"]) < 1e-6
    assert set(report["runs"]) == {"fast-fp32", "plain-fp32"}
    assert report["cost_vs_length"]["runs"].keys() == {"0.5", "1.0"}
    assert report["style_cache"]["warm"]["hits"] == 1 and report["style_cache"]["cold"]["misses"] == 1
    assert report["bf16_skipped"].startswith("a small bf16 GEMM ran at 0.03x fp32's speed on this cpu (AMD EPYC, "
                                             "flags avx2): full-size bf16 runs skipped")
    assert report["matmul_bf16_gflops"] is None
    assert ("matmul", None, ("fp32",)) in kinds and not any(p == "bf16" for _, p, _ in kinds)
    assert set(report["cpu"]) == {"model", "flags"}
    printed = capsys.readouterr().out
    assert "speed-up fast vs plain" in printed and "bf16: skipped" in printed


def test_time_to_result_reads_a_trajectory():
    bench = load_bench()
    losses = [100.0, 50.0, 20.0, 10.05, 10.02, 10.005, 10.0]
    run = {"iterations": 6, "evaluations": 9, "seconds": 6.0,
           "history": {"loss": losses, "seconds": [0, 1, 2, 3, 4, 5, 6], "iteration": list(range(7)),
                       "stopped": "iterations"}}
    t = bench._time_to_result(run, tolerances=(1e-2,), window=2)
    assert t["within_0.1pct_iteration"] == 5  # 10.005 ≤ 10.0·1.001, 10.02 is not
    assert t["tolerance_stops"]["0.01"]["iteration"] == 5  # (10.05 − 10.005)/10.005 < 1 %
