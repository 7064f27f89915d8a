"""Wall time per iteration on 10 s of content: the paper's configuration against graphs/beyond_paper.yaml's.

    python bench/iteration_time.py [--iterations 8] [--repeats 2] [--threads 1] [--beyond-precisions fp32,auto]

Both run in this one process on the same clips (bench/signals.py's piano content, drum style:
10 s and 20 s as the paper), alternating, so machine load hits both alike; the figure that counts
is the ratio. The paper side is the style_transfer node with graphs/paper.yaml's params (4096
filters; its default fast implementation); the beyond side is the feature_style node with the
params graphs/beyond_paper.yaml gives it, from the start its graph makes (its `start` share of the style laid
under the content). Per iteration = the optimiser's own clock over its
iterations (setup — style targets, network loading — excluded, reported apart).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def node_params(graph: Path, node_type: str) -> dict:
    """The params the graph sets on its node, as the engine resolves them with the variables' defaults (so the timed
    run smooths, and picks its precision, as the graph does); the rest are left to the node's defaults."""
    import yaml

    from audiostyle_engine.run import prepare

    prepared = prepare(graph)
    for name, node in yaml.safe_load(graph.read_text())["nodes"].items():
        if node.get("type") == node_type:
            return {k: v for k, v in prepared.nodes[name].params.items() if k in node}
    raise SystemExit(f"{graph} has no {node_type} node")


def timed(cls, inputs: dict, params: dict) -> tuple[float, float, int, int | None]:
    """Seconds per iteration, setup seconds, iterations, and the objective's evaluations (None where the node
    does not count them): L-BFGS's line search takes a varying number of evaluations per iteration, so a
    precision that makes each evaluation cheaper can still lose per iteration."""
    from tests.helpers.nodes import run_node

    t0 = time.perf_counter()
    _, rec, _ = run_node(cls, inputs, **params)
    total = time.perf_counter() - t0
    h = rec["history"]
    iterations = h["iteration"][-1]
    per_it = (h["seconds"][-1] - h["seconds"][0]) / max(iterations, 1)
    return per_it, total - (h["seconds"][-1] - h["seconds"][0]), iterations, h.get("evaluations")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beyond-precisions", default=None, help="comma-separated feature_style precisions to time "
                    "side by side (e.g. fp32,bf16; default: the graph's)")
    ap.add_argument("--beyond-smooth", default=None, help="comma-separated smooth_frames to time side by side "
                    "(e.g. 1,9; default: the graph's)")
    args = ap.parse_args(argv)
    import torch

    import signals
    from audiostyle_engine.payloads import Audio
    from nodes import FeatureStyle, Stft, StyleTransfer
    from tests.helpers.nodes import run_node

    torch.set_num_threads(args.threads)
    repo = HERE.parent
    paper = {**node_params(repo / "graphs" / "paper.yaml", "style_transfer"), "iterations": args.iterations,
             "style_cache": False}
    beyond = {**node_params(repo / "graphs" / "beyond_paper.yaml", "feature_style"), "iterations": args.iterations,
              "tolerance": None}
    spec = lambda x: run_node(Stft, {"audio": Audio(x[None].astype("float32"), signals.SR)})[0]["spectrogram"]  # noqa: E731
    import yaml

    from nodes.layer import layer

    c_wave, s_wave = signals.make("piano", 10.0), signals.make("drums", 20.0)
    content, style = spec(c_wave), spec(s_wave)
    share = yaml.safe_load((repo / "graphs" / "beyond_paper.yaml").read_text())["variables"]["start"]
    start = spec(layer(c_wave[None], s_wave, share)[0][0])
    print(f"load average {os.getloadavg()[0]:.2f}; torch threads {args.threads}; paper {paper}; beyond {beyond}")
    runs = [("paper", StyleTransfer, paper, {"content": content, "style": style})]
    precisions = args.beyond_precisions.split(",") if args.beyond_precisions else [None]
    smooths = [int(v) for v in args.beyond_smooth.split(",")] if args.beyond_smooth else [None]
    for precision in precisions:
        for smooth in smooths:
            params = {**beyond, **({} if precision is None else {"precision": precision}),
                      **({} if smooth is None else {"smooth_frames": smooth})}
            tags = [t for t in (precision, None if smooth is None else f"smooth {smooth}") if t is not None]
            runs.append((f"beyond[{', '.join(tags)}]" if tags else "beyond", FeatureStyle, params,
                         {"content": content, "style": style, "start": start}))
    results = {name: [] for name, *_ in runs}
    for r in range(args.repeats):
        for name, cls, params, inputs in runs:
            per_it, setup, its, evaluations = timed(cls, inputs, params)
            results[name].append(per_it)
            counted = "" if evaluations is None else f", {evaluations} evaluations ({per_it * its / evaluations:.3f} s each)"
            print(f"  {name:22s} run {r + 1}: {per_it:.3f} s/iteration over {its} iterations{counted}, "
                  f"setup {setup:.1f} s", flush=True)
    best = {k: min(v) for k, v in results.items()}
    ratios = ", ".join(f"{k}/paper {v / best['paper']:.2f}" for k, v in best.items() if k != "paper")
    print(f"best of {args.repeats}: " + ", ".join(f"{k} {v:.3f} s/it" for k, v in best.items()) +
          f"; ratio {ratios}; load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
