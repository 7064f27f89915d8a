"""How often one `audiostyle batch` run parses the graph's YAML and opens each input file.

Runs `audiostyle batch graphs/fx_master.yaml IN OUT --workers 1` on generated files under strace
(every openat of a file in IN is counted, whichever library opens it) with yaml.compose and
yaml.safe_load counted in the process. ``--repo`` points at another checkout to compare with.

    python3 bench/batch_opens.py                       # 20 files × 1 s, this checkout
    python3 bench/batch_opens.py --repo /work/main     # the same on another checkout
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]

# Runs inside the measured process: count YAML parses, then run the CLI as `audiostyle batch` would.
CHILD = r"""
import atexit, sys, yaml
counts = {"compose": 0, "safe_load": 0}
def counting(name, original):
    def wrapper(*a, **k):
        counts[name] += 1
        return original(*a, **k)
    return wrapper
yaml.compose = counting("compose", yaml.compose)
yaml.safe_load = counting("safe_load", yaml.safe_load)
atexit.register(lambda: print(f"YAML compose={counts['compose']} safe_load={counts['safe_load']}", file=sys.stderr))
sys.path.insert(0, sys.argv[1])
import cli
sys.argv = ["audiostyle"] + sys.argv[2:]
try:
    cli.main()
except SystemExit:
    pass
"""


def make_files(folder: Path, count: int, seconds: float) -> list[Path]:
    from pedalboard.io import AudioFile

    rng = np.random.default_rng(3)
    files = []
    for i in range(count):
        path = folder / f"stem{i:02d}.wav"
        with AudioFile(str(path), "w", samplerate=44100, num_channels=2, bit_depth=16) as f:
            f.write((0.2 * rng.standard_normal((2, int(44100 * seconds)))).astype(np.float32))
        files.append(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(HERE), help="checkout whose code runs (default: this one)")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    if not shutil.which("strace"):
        raise SystemExit("needs strace (apt-get install strace)")
    repo = Path(args.repo).resolve()
    work = Path(tempfile.mkdtemp(prefix="audiostyle-opens-"))
    try:
        in_dir, out_dir = work / "in", work / "out"
        in_dir.mkdir()
        files = make_files(in_dir, args.files, args.seconds)
        trace = work / "trace.txt"
        cmd = ["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", str(trace), sys.executable, "-c", CHILD,
               str(repo), "batch", str(repo / "graphs" / "fx_master.yaml"), str(in_dir), str(out_dir),
               "--workers", "1", "--quiet", "--no-report"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
        yaml_line = next((line for line in proc.stderr.splitlines() if line.startswith("YAML ")), "YAML ?")
        opens: Counter = Counter()
        pattern = re.compile(r'open(?:at)?\([^"]*"([^"]+)"')
        for line in trace.read_text().splitlines():
            m = pattern.search(line)
            if m and "ENOENT" not in line and m.group(1).startswith(str(in_dir) + "/"):
                opens[Path(m.group(1)).name] += 1
        per_file = [opens[f.name] for f in files]
        done = len(list(out_dir.glob("*.wav")))
        print(f"checkout {repo}: batch of {args.files} files × {args.seconds:g} s, exit {proc.returncode}, "
              f"{done} outputs")
        print(f"  {yaml_line} (yaml.compose = graph-file parses; safe_load = --set values)")
        print(f"  input opens: {sum(per_file)} in all, per file min {min(per_file)} max {max(per_file)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
