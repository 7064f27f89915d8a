"""What hosting costs: a stereo file through ZamCompX2 + Reverb, in-process whole-file (pedalboard's
own call) vs. our block-streamed renderer in-process vs. the isolated worker (pickling included).

    python3 bench/bench_plugin_host.py [seconds]

Prints wall times and ratios measured in one run, with the load average (the machine is shared).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes._fx.chain import Entry  # noqa: E402
from nodes._fx.plugin_client import PluginHost  # noqa: E402
from nodes._fx.render import render  # noqa: E402

PLUGIN = "/usr/lib/vst3/ZamCompX2.vst3"


def best_of(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    import pedalboard

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    sr = 44100
    x = (0.3 * np.random.default_rng(0).standard_normal((2, int(seconds * sr)))).astype(np.float32)
    params = {"threshold_db": -24.0, "ratio": 4.0}
    plugin = pedalboard.load_plugin(PLUGIN)
    for k, v in params.items():
        setattr(plugin, k, v)
    board = pedalboard.Pedalboard([plugin, pedalboard.Reverb(room_size=0.5)])
    pad = np.pad(x, ((0, 0), (0, 5 * sr)))
    host = PluginHost()
    chain = [Entry(0, "plugin", PLUGIN, params=params).to_job(), Entry(1, "effect", "Reverb", params={"room_size": 0.5}).to_job()]
    host.render(chain, x[:, :sr], sr, 0, time_limit=300)  # start the worker and load the plugin once
    whole = best_of(3, lambda: board(pad, sr, buffer_size=512, reset=True))
    streamed = best_of(3, lambda: render(board, x, sr, "auto"))
    isolated = best_of(3, lambda: host.render(chain, x, sr, "auto", time_limit=300))
    host.close()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{seconds:g} s stereo through ZamCompX2 + Reverb (best of 3):")
    print(f"  pedalboard whole-file call (5 s fixed tail): {whole:.3f} s  ({seconds / whole:.0f}x real time)")
    print(f"  block-streamed, auto tail, in-process:       {streamed:.3f} s  ({streamed / whole:.2f}x whole-file)")
    print(f"  block-streamed, auto tail, worker process:   {isolated:.3f} s  ({isolated / whole:.2f}x whole-file)")


if __name__ == "__main__":
    main()
