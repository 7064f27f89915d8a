"""Spectrograms of one pair's outputs from a bench/quality.py run, beside the content, a mix and the style.

    python bench/spectrograms.py --run out/qA --pair piano+amen --configs pre_logmag_a03,morph05 \
        --mix 0.35 --seconds 5 --png docs/piano_amen_spectrograms.png

Every signal is shown at the bench's reference RMS (as the measures see it), dB scale −80…+20.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import quality as bench  # noqa: E402
from audiostyle_engine import quality  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="the --out folder of a bench/quality.py run")
    ap.add_argument("--pair", required=True, help="content+style, e.g. piano+amen")
    ap.add_argument("--configs", required=True, help="comma-separated configs of that run, each optionally "
                    "/phase (e.g. balanced_b234+layer06/gl_refine; default gl)")
    ap.add_argument("--source", choices=("generated", "devset"), default="devset")
    ap.add_argument("--content-seconds", type=float, default=10.0)
    ap.add_argument("--style-seconds", type=float, default=10.0)
    ap.add_argument("--excerpt", type=int, default=0, help="the run's --excerpt")
    ap.add_argument("--mix", type=float, default=0.35, help="the layering row's style fraction")
    ap.add_argument("--seconds", type=float, default=5.0, help="how much of each signal to draw")
    ap.add_argument("--png", type=Path, required=True)
    args = ap.parse_args(argv)

    import librosa
    import librosa.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c_name, s_name = args.pair.split("+")
    # The clips as the run had them: the style drawn is its reference, the mix's layer its other excerpt.
    content, style, other = bench.clips_of(bench.source(args.source), (c_name, s_name), args.content_seconds,
                                           args.style_seconds, args.excerpt)
    items = [(f"content ({c_name})", content), (f"mix {round(100 * args.mix)} % {s_name}", bench.mix(content, other, args.mix))]
    for cfg in [c for c in args.configs.split(",") if c]:  # config or config/phase (gl when not named)
        name, _, phase = cfg.partition("/")
        items.append((cfg, bench.read(args.run / args.pair / name / f"{phase or 'gl'}.wav")))
    items.append((f"style ({s_name})", style))
    n = int(args.seconds * bench.SR)
    fig, axes = plt.subplots(len(items), 1, figsize=(9, 2 * len(items)), sharex=True)
    for ax, (title, x) in zip(axes, items):
        db = librosa.amplitude_to_db(np.abs(librosa.stft(quality.equal_rms(x)[:n], n_fft=2048, hop_length=512)), ref=1.0)
        librosa.display.specshow(db, sr=bench.SR, hop_length=512, y_axis="log", x_axis="time", ax=ax, vmin=-80, vmax=20)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=55)
    # a palette image: a third of the size, for a figure that is committed
    Image.open(buffer).convert("RGB").quantize(colors=64).save(args.png, optimize=True)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
