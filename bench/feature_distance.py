"""A second perceptual evaluator that shares no front end with any optimised network.

The tagger (bench/tagger_distance.py) and the pretrained networks a style loss might use are
log-mel CNNs with the same kind of log compression; an output could move one of them at the
feature level without sounding different. This evaluator uses none of that: each frame is
described by librosa's hand-made features on other representations —

- spectral contrast (7 octave bands of the linear-frequency STFT: peak-to-valley, i.e. tonal vs noisy),
- chroma from the constant-Q transform (12 pitch classes),
- spectral flatness, zero-crossing rate, and the log centroid/bandwidth/roll-off (brightness),

every dimension standardised by the content's and style's pooled statistics, and two clips are
compared by the Fréchet distance between Gaussians fitted to their frames. Like every bench
measure it sees the equal-RMS signals (over a fixed noise floor 50 dB down, so that what
happens in near-silence does not decide it).
"""
from __future__ import annotations

import numpy as np

HOP = 512
N_FFT = 2048
# A fixed white-noise floor (dB below the reference RMS) added to every clip: zero-crossing rate and
# flatness of near-silent frames otherwise swing with changes 80 dB down that no one hears.
NOISE_FLOOR_DB = -50.0


def frame_features(x: np.ndarray, sr: int) -> np.ndarray:
    """[frames, 24] hand-made features of the equal-RMS signal."""
    import librosa

    from audiostyle_engine.quality import equal_rms

    from audiostyle_engine.quality import REFERENCE_RMS

    floor = np.random.default_rng(0).standard_normal(len(x)) * REFERENCE_RMS * 10 ** (NOISE_FLOOR_DB / 20)
    y = (equal_rms(x) + floor).astype(np.float32)
    mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    feats = [librosa.feature.spectral_contrast(S=mag, sr=sr, n_fft=N_FFT, hop_length=HOP),
             librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=HOP),
             np.log(librosa.feature.spectral_flatness(S=mag) + 1e-6),
             librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP),
             np.log(librosa.feature.spectral_centroid(S=mag, sr=sr) + 1.0),
             np.log(librosa.feature.spectral_bandwidth(S=mag, sr=sr) + 1.0),
             np.log(librosa.feature.spectral_rolloff(S=mag, sr=sr) + 1.0)]
    frames = min(f.shape[1] for f in feats)
    return np.concatenate([f[:, :frames] for f in feats]).T.astype(np.float64)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(ca @ cb)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca + cb - 2 * np.real(root)))


class FeatureDistance:
    """Fréchet distance to the style in standardised feature space; the scale is fixed per pair."""

    def __init__(self, content: np.ndarray, style: np.ndarray, sr: int):
        self.sr = sr
        pooled = np.concatenate([frame_features(content, sr), frame_features(style, sr)])
        self.mean, self.std = pooled.mean(0), pooled.std(0) + 1e-9
        self.style = self._standard(style)

    def _standard(self, x: np.ndarray) -> np.ndarray:
        return (frame_features(x, self.sr) - self.mean) / self.std

    def distance(self, x: np.ndarray) -> float:
        return frechet(self._standard(x), self.style)
