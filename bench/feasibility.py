"""The feasibility check behind the quality goal, a diagnostic and never a product: start from a plain mix on
the frontier, optimise its STFT log-magnitude (the mix's phase kept) *directly against the bench's six
objective measures* (differentiable copies of audiostyle_engine/quality.py, float64), hold the mix's content
correlation as a floor, then score the result as the bench does. It answers two questions per pair: how far
below layering can any signal get on the objective measures at that content correlation, and does the
independent tagger agree?

    python bench/feasibility.py --frontier bench/results/quality_devset_10s_40it_rb3.json \\
        --pairs piano+amen,compus+violin --fractions 0.1,0.2 --steps 100
    .tagger/bin/python bench/feasibility.py ... --tagger          # the tagger margin too

The frontier (content, the mixes, the style excerpt) and the clip settings come from a stored
``bench/quality.py --source devset`` report, so the margins are against the same curve as the bench's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from audiostyle_engine import quality, settings  # noqa: E402

SR = 44100


class TorchMeasures:
    """quality.py's content correlation and six style distances in torch (float64), so they have gradients.
    Each mirrors its numpy original step for step; tests/bench/test_feasibility.py holds them equal."""

    def __init__(self):
        import librosa
        import torch

        self.torch = torch
        self.window = torch.hann_window(quality.N_FFT, dtype=torch.float64)
        self.mel = torch.tensor(librosa.filters.mel(sr=SR, n_fft=quality.N_FFT, n_mels=quality.N_MELS), dtype=torch.float64)
        self.filters = {w: torch.tensor(quality._random_filters(w), dtype=torch.float64) for w in quality.GRAM_WIDTHS}

    def stft(self, y):
        return self.torch.stft(y, quality.N_FFT, quality.HOP, window=self.window, center=True, pad_mode="constant",
                               return_complex=True)

    def power(self, y):
        z = self.stft(y * (quality.REFERENCE_RMS / y.pow(2).mean().sqrt()))
        return z.real ** 2 + z.imag ** 2

    def log_spectrogram(self, y):
        return self.torch.log1p(self.torch.sqrt(self.power(y) + 1e-20))  # |·| has no gradient at 0

    def log_mel(self, y):
        mel = self.mel @ self.power(y)
        return self.torch.clamp(10 * self.torch.log10(self.torch.clamp(mel, min=1e-12)), min=quality.MEL_FLOOR_DB)

    @staticmethod
    def correlation(a, b):
        """quality.content_correlation of two log-spectrograms: Pearson over the frames both have."""
        from nodes._style.core import correlation

        frames = min(a.shape[1], b.shape[1])
        return correlation(a[:, :frames], b[:, :frames])

    def _onset_autocorrelation(self, mel_db, lags: int):
        torch = self.torch
        flux = torch.relu(mel_db[:, 1:] - mel_db[:, :-1]).mean(0)
        flux = flux - flux.mean()
        n = flux.numel()
        ac = torch.fft.irfft(torch.fft.rfft(flux, 2 * n).abs() ** 2, 2 * n)[:n]
        ac = ac / torch.arange(n, 0, -1, dtype=torch.float64)
        return (ac / ac[0])[1:lags + 1]

    def _gram(self, mel_db, width: int):
        x = ((mel_db - quality.MEL_FLOOR_DB) / 10.0)[None]
        feats = self.torch.relu(self.torch.nn.functional.conv1d(x, self.filters[width]))[0]
        return feats @ feats.T / feats.shape[1]

    def distances(self, a, b) -> dict:
        """quality.style_distances of two log-mels."""
        lags = min(int(quality.RHYTHM_MAX_LAG_SECONDS * SR / quality.HOP), a.shape[1] // 2 - 1, b.shape[1] // 2 - 1)
        out = {"mel_covariance": (self.torch.cov(a) - self.torch.cov(b)).norm(),
               "spectral_envelope": (a.mean(1) - b.mean(1)).pow(2).mean().sqrt(),
               "rhythm": (self._onset_autocorrelation(a, lags) - self._onset_autocorrelation(b, lags)).pow(2).mean().sqrt()}
        for w in quality.GRAM_WIDTHS:
            ga, gb = self._gram(a, w), self._gram(b, w)
            out[f"gram_w{w}"] = 2 * (ga - gb).norm() / (ga.norm() + gb.norm())
        return out


def optimise_against_the_measures(start: np.ndarray, content: np.ndarray, style: np.ndarray, steps: int,
                                  measures: TorchMeasures | None = None) -> tuple[np.ndarray, dict]:
    """``start``'s log-magnitude moved to lower the mean objective position, its content correlation held as
    a floor (settings.FEATURE_HOLD_CONTENT_WEIGHT, as feature_style's hold_content); the start's phase is kept.
    Returns the signal and the positions (the bench's objective measure) before and after."""
    m = measures or TorchMeasures()
    torch = m.torch
    c, s = torch.tensor(content, dtype=torch.float64), torch.tensor(style, dtype=torch.float64)
    c_log, s_mel = m.log_spectrogram(c), m.log_mel(s)
    c_dist = {k: v.detach() for k, v in m.distances(m.log_mel(c), s_mel).items()}
    z0 = m.stft(torch.tensor(start, dtype=torch.float64))
    phase = (z0 / (z0.abs() + 1e-12)).contiguous()
    u = torch.log(z0.abs() + 1e-9).contiguous().clone().requires_grad_(True)
    floor = float(m.correlation(m.log_spectrogram(torch.tensor(start, dtype=torch.float64)), c_log))

    def signal():
        return torch.istft(torch.exp(u) * phase, quality.N_FFT, quality.HOP, window=m.window, center=True,
                           length=content.size)

    def position_and_correlation():
        y = signal()
        d = m.distances(m.log_mel(y), s_mel)
        return torch.stack([d[k] / c_dist[k] for k in quality.STYLE_MEASURES]).mean(), m.correlation(m.log_spectrogram(y), c_log)

    opt = torch.optim.LBFGS([u], lr=1, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        pos, corr = position_and_correlation()
        loss = pos + settings.FEATURE_HOLD_CONTENT_WEIGHT * torch.relu(floor - corr) ** 2
        loss.backward()
        return loss

    with torch.no_grad():
        before = float(position_and_correlation()[0])
    opt.step(closure)
    with torch.no_grad():
        after, corr = (float(v) for v in position_and_correlation())
        y = signal().numpy()
    return y, {"position_before": before, "position_after": after, "floor": floor, "content_correlation": corr}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frontier", type=Path, default=HERE / "results" / "quality_devset_10s_40it_rb3.json",
                    help="a stored bench/quality.py --source devset report: its mixes are the frontier")
    ap.add_argument("--pairs", default=None, help="comma-separated content+style (default: every pair in the report)")
    ap.add_argument("--fractions", default="0.1,0.2", help="the mixes to start from (share of the style)")
    ap.add_argument("--steps", type=int, default=100, help="L-BFGS iterations")
    ap.add_argument("--tagger", action="store_true", help="score with the musicnn tagger too (its venv's python)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    import devset
    import quality as quality_bench

    torch.set_num_threads(args.threads)
    report = json.loads(args.frontier.read_text())
    clip_source, content_seconds, style_seconds, excerpt = quality_bench.clip_settings(report)
    if clip_source != "devset":
        raise SystemExit(f"{args.frontier}: not a --source devset report; pass one of bench/results/quality_devset_*.json")
    rows = report["rows"]
    pairs = args.pairs.split(",") if args.pairs else list(dict.fromkeys(r["pair"] for r in rows))
    tagger = None
    if args.tagger:
        from tagger_distance import TaggerDistance

        tagger = TaggerDistance()
    measures, results = TorchMeasures(), []
    for pair in pairs:
        ref = next((r for r in rows if r["pair"] == pair and r["config"] == "content"), None)
        if ref is None:
            raise SystemExit(f"{args.frontier} has no pair {pair}; pick from {sorted({r['pair'] for r in rows})}")
        content, style, other = quality_bench.clips_of(devset, tuple(pair.split("+")), content_seconds, style_seconds,
                                                       excerpt)
        for fraction in (float(f) for f in args.fractions.split(",")):
            t0 = time.perf_counter()
            start = quality_bench.mix(content, other, fraction)
            y, opt = optimise_against_the_measures(start, content, style, args.steps, measures)
            seconds = time.perf_counter() - t0
            for label, x in (("mix", start), ("optimised", y)):
                row = quality_bench.measure(x, content, style, tagger)
                row["position"] = float(np.mean(list(quality.positions(row, ref).values())))
                out = {"pair": pair, "fraction": fraction, "signal": label, "seconds": seconds if label == "optimised" else 0.0,
                       "content_correlation": row["content_correlation"], "position": row["position"],
                       "objective_margin": row["position"] - float(np.interp(row["content_correlation"],
                                                                              *quality_bench.frontier(rows, pair, "position")))}
                if tagger is not None and ref.get("tagger_frechet"):
                    out["tagger_ratio"] = row["tagger_frechet"] / ref["tagger_frechet"]
                    out["tagger_margin"] = out["tagger_ratio"] - float(np.interp(
                        row["content_correlation"], *quality_bench.frontier(rows, pair, "tagger_ratio")))
                results.append(out)
                tag = f"  tagger {out['tagger_ratio']:.3f} ({out['tagger_margin']:+.3f})" if "tagger_margin" in out else ""
                print(f"{pair:17s} {fraction:4.2f} {label:9s} content {out['content_correlation']:.4f}  objective "
                      f"{out['position']:.3f} ({out['objective_margin']:+.3f}){tag}  {out['seconds']:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"settings": vars(args) | {"frontier": str(args.frontier), "json": str(args.json)},
                                         "rows": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
