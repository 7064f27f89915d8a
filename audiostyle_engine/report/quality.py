"""Objective quality numbers, so results can be compared without listening.

- content correlation: Pearson correlation of log(1 + |STFT|) of a result and of the content
  (the paper's Fig. 3 measure, here on the final audio rather than inside the optimiser);
- style distance: how far a result's log-mel frame statistics (per-band mean, spread and
  frame-to-frame change, in dB) are from the style's. The optimiser never sees mel bands, so
  this does not simply repeat its own loss.

Every signal is first mixed to mono, brought to the content's sample rate and scaled to one RMS,
so that a quieter output does not read as closer. The trivial outputs "content itself" and
"style itself" bound both numbers, and each result gets a position between them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .. import settings


@dataclass(frozen=True)
class QualityRow:
    label: str
    content_correlation: float  # 1 for the content itself
    style_distance_db: float  # 0 for the style itself
    content_position: float  # 1 = as correlated as the content itself, 0 = as the style itself
    style_position: float  # 1 = as close as the style itself, 0 = as far as the content itself
    # The style distance split by statistic (each an RMS over bands, dB): which part of the texture differs.
    style_level_db: float = 0.0  # mean level per band
    style_spread_db: float = 0.0  # standard deviation per band (dynamics, e.g. hits against gaps)
    style_change_db: float = 0.0  # mean |frame-to-frame change| per band (rhythm, attacks)

    def as_dict(self) -> dict:
        return {k: _finite_or_none(v) for k, v in asdict(self).items()}


def _finite_or_none(v):
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def to_reference(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """[channels, frames] → mono float64 at ``target_rate`` and the reference RMS (silence stays silent)."""
    x = np.asarray(samples, dtype=np.float64)
    x = x.mean(axis=0) if x.ndim == 2 else x
    if sample_rate != target_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), int(target_rate))
        x = resample_poly(x, target_rate // g, sample_rate // g)
    rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
    if rms < 1e-9:
        return x
    return x * (10 ** (settings.QUALITY_REFERENCE_RMS_DBFS / 20) / rms)


def log_spectrogram(x: np.ndarray) -> np.ndarray:
    import librosa

    return np.log1p(np.abs(librosa.stft(x.astype(np.float32), n_fft=settings.QUALITY_N_FFT,
                                        hop_length=settings.QUALITY_HOP_LENGTH)))


def content_correlation(result: np.ndarray, content: np.ndarray) -> float:
    """Correlation of two reference signals' log-spectrograms over their common frames."""
    a, b = log_spectrogram(result), log_spectrogram(content)
    frames = min(a.shape[1], b.shape[1])
    a = a[:, :frames].ravel() - a[:, :frames].mean()
    b = b[:, :frames].ravel() - b[:, :frames].mean()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else float("nan")


def style_features(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per mel band: mean, standard deviation and mean absolute frame-to-frame change of the log-mel level."""
    import librosa

    mel = librosa.feature.melspectrogram(y=x.astype(np.float32), sr=sample_rate, n_fft=settings.QUALITY_N_FFT,
                                         hop_length=settings.QUALITY_HOP_LENGTH, n_mels=settings.QUALITY_N_MELS)
    db = np.maximum(10 * np.log10(np.maximum(mel, 1e-30)), settings.QUALITY_FLOOR_DB)
    change = np.abs(np.diff(db, axis=1)).mean(axis=1) if db.shape[1] > 1 else np.zeros(db.shape[0])
    return np.concatenate([db.mean(axis=1), db.std(axis=1), change])


def style_distance(a_features: np.ndarray, b_features: np.ndarray) -> float:
    """RMS difference of two feature vectors, in dB."""
    return float(np.sqrt(np.mean((a_features - b_features) ** 2)))


def style_components(a_features: np.ndarray, b_features: np.ndarray) -> tuple[float, float, float]:
    """The distance of each statistic alone: (level, spread, change), in dB."""
    return tuple(style_distance(a, b) for a, b in zip(np.split(a_features, 3), np.split(b_features, 3)))


@dataclass
class QualityReference:
    """Content and style at the reference level, with what every result is measured against."""

    sample_rate: int
    content: np.ndarray
    style_features: np.ndarray
    content_row: QualityRow
    style_row: QualityRow
    style: np.ndarray | None = None  # the style at the reference level, for the layering curve

    @classmethod
    def build(cls, content: np.ndarray, content_rate: int, style: np.ndarray, style_rate: int) -> "QualityReference":
        c = to_reference(content, content_rate, content_rate)
        s = to_reference(style, style_rate, content_rate)
        c_feat, s_feat = style_features(c, content_rate), style_features(s, content_rate)
        style_corr = content_correlation(s, c)
        content_dist = style_distance(c_feat, s_feat)
        return cls(content_rate, c, s_feat,
                   QualityRow("content itself", 1.0, content_dist, 1.0, 0.0, *style_components(c_feat, s_feat)),
                   QualityRow("style itself", style_corr, 0.0, 0.0, 1.0), s)

    def _looped_style(self) -> np.ndarray:
        """The style at the reference level, looped or cut to the content's length (silence if there is none)."""
        n = self.content.size
        return np.resize(self.style, n) if self.style is not None and self.style.size else np.zeros(n)

    def frontier(self, fractions=settings.QUALITY_MIX_FRACTIONS) -> list[QualityRow]:
        """The layering curve: content + f·style (both at the reference level, the style looped or cut to
        the content's length), measured like any result. A styled output is worth more than a mix only
        where it lies above this curve (closer to the style at the same content position)."""
        rows = [self.content_row]
        for f in fractions:
            rows.append(self.measure(f"mix {round(100 * f)} % style", self.mix(f), self.sample_rate))
        return rows + [self.style_row]

    def placebos(self, fractions=settings.QUALITY_PLACEBO_FRACTIONS,
                 shifts=settings.REPORT_PLACEBO_SHIFTS) -> list[QualityRow]:
        """The curve's mixes with the style shifted in time (circularly, by ``shifts`` of the content's length):
        layering as well, only placed elsewhere. How far they land from the curve is how far placement alone
        moves a mix, the range a result's margin is read against."""
        n, style = self.content.size, self._looped_style()
        return [self.measure(f"mix {round(100 * f)} % style, shifted {round(100 * s)} %",
                             (1 - f) * self.content + f * np.roll(style, int(round(s * n))), self.sample_rate)
                for f in fractions for s in shifts]

    def mix(self, fraction: float) -> np.ndarray:
        """content + ``fraction``·style at the reference level, as the layering curve mixes them."""
        return (1 - fraction) * self.content + fraction * self._looped_style()

    def matched_mix(self, target: float) -> tuple[float, np.ndarray] | None:
        """(fraction, mix) of the curve's mix that keeps the content as well as a result of content correlation
        ``target``; None where no mix up to QUALITY_MATCHED_MIX_MAX_FRACTION is that far from the content."""
        if self.style is None or not self.style.size or not np.isfinite(target):
            return None
        rate = self.sample_rate  # measured as measure() measures a result: brought to the reference level first
        f = matching_fraction(lambda f: content_correlation(to_reference(self.mix(f), rate, rate), self.content),
                              target)
        return None if f is None else (f, self.mix(f))

    def measure(self, label: str, samples: np.ndarray, sample_rate: int) -> QualityRow:
        x = to_reference(samples, sample_rate, self.sample_rate)
        corr = content_correlation(x, self.content)
        feats = style_features(x, self.sample_rate)
        dist = style_distance(feats, self.style_features)
        return QualityRow(label, corr, dist, _position(corr, self.style_row.content_correlation, 1.0),
                          _position(dist, self.content_row.style_distance_db, 0.0),
                          *style_components(feats, self.style_features))

    def rows(self, results: list[tuple[str, np.ndarray, int]]) -> list[QualityRow]:
        return [self.content_row, self.style_row] + [self.measure(*r) for r in results]


def matching_fraction(correlation_at: Callable[[float], float], target: float,
                      highest: float = settings.QUALITY_MATCHED_MIX_MAX_FRACTION,
                      tolerance: float = settings.QUALITY_MATCHED_MIX_TOLERANCE) -> float | None:
    """The style fraction f in [0, ``highest``] at which a mix's content correlation ``correlation_at(f)``
    (falling as f grows) equals ``target``, to ``tolerance``: the plain mix that keeps the content as well as a
    result does, to listen to beside it. None where even ``highest`` keeps more of the content than the result."""
    if target >= correlation_at(0.0) - tolerance:
        return 0.0
    if correlation_at(highest) > target + tolerance:
        return None
    low, high = 0.0, highest
    for _ in range(40):
        mid = (low + high) / 2
        c = correlation_at(mid)
        if abs(c - target) <= tolerance / 4:
            return mid
        low, high = (mid, high) if c > target else (low, mid)
    return (low + high) / 2


def frontier_margin(row: QualityRow | dict, curve: list[QualityRow | dict]) -> float:
    """row's style position minus the layering curve's at row's content position (positive: beats layering)."""
    def get(r, key):
        return r[key] if isinstance(r, dict) else getattr(r, key)

    pts = sorted((get(r, "content_position"), get(r, "style_position")) for r in curve)
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    return float(get(row, "style_position") - np.interp(get(row, "content_position"), xs, ys))


def against_layering(ref: QualityReference, rows: list[QualityRow]):
    """(curve, placebos, margins, placebo range) for ``rows`` as QualityReference.rows gives them (content itself,
    style itself, then the results): the layering curve, its placebos, each result's margin to the curve, and
    the placebos' (lowest, highest) margin, within which a result is level with layering."""
    curve, placebos = ref.frontier(), ref.placebos()
    return curve, placebos, [frontier_margin(r, curve) for r in rows[2:]], margin_range(placebos, curve)


def margin_range(placebos: list[QualityRow | dict], curve: list[QualityRow | dict]) -> tuple[float, float]:
    """(lowest, highest) margin to the curve among the placebos: within it, a result is level with layering."""
    margins = [frontier_margin(r, curve) for r in placebos]
    return (min(margins), max(margins)) if margins else (0.0, 0.0)


def _position(value: float, at_zero: float, at_one: float) -> float:
    span = at_one - at_zero
    # + 0.0 turns -0.0 into 0.0, which would print as "-0.000" for the content itself.
    return float((value - at_zero) / span) + 0.0 if abs(span) > 1e-12 else float("nan")


def describe() -> dict:
    """The settings behind the numbers, stored beside them in metrics JSON."""
    return {"reference_rms_dbfs": settings.QUALITY_REFERENCE_RMS_DBFS, "n_fft": settings.QUALITY_N_FFT,
            "hop_length": settings.QUALITY_HOP_LENGTH, "n_mels": settings.QUALITY_N_MELS,
            "content_correlation": "Pearson correlation of log(1+|STFT|) with the content's, common frames",
            "style_distance_db": "RMS difference of per-band log-mel mean, std and mean |frame-to-frame change| (dB) "
                                 "from the style's",
            "style_components_db": "style_level_db, style_spread_db, style_change_db: the style distance of each "
                                   "statistic alone",
            "content_position": "0 = as correlated as the style itself, 1 = as the content itself",
            "style_position": "0 = as far from the style as the content itself, 1 = as close as the style itself"}
