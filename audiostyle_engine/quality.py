"""Objective style-transfer quality measures, computed from waveforms alone (numpy + librosa).

Every measure first scales its signals to one RMS: level-sensitive texture measures otherwise
rate a quiet output as close to a style it is not close to. The style distances live in feature
spaces the optimiser does not use (mel bands, onset envelopes, random convolutions over mel bands
at widths other than the optimiser's), so that a method cannot score by matching its own loss.

Reading the numbers: for a distance d, d(output, style) / d(content, style) is the output's
position between the two — 1 is as far from the style as the content, 0 is like the style.
"""
from __future__ import annotations

import numpy as np

REFERENCE_RMS = 0.1
N_FFT = 2048
HOP = 512
N_MELS = 64
MEL_FLOOR_DB = -80.0  # relative to REFERENCE_RMS-level audio; keeps near-silent bins from dominating
RHYTHM_MAX_LAG_SECONDS = 2.0
GRAM_WIDTHS = (3, 25, 51)  # frames; the optimiser's is 11
GRAM_FILTERS = 256
GRAM_SEED = 1234

STYLE_MEASURES = ("mel_covariance", "spectral_envelope", "rhythm") + tuple(f"gram_w{w}" for w in GRAM_WIDTHS)


def equal_rms(x: np.ndarray, rms: float = REFERENCE_RMS) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    level = np.sqrt(np.mean(x ** 2))
    return x * (rms / level) if level > 0 else x


def log_spectrogram(x: np.ndarray) -> np.ndarray:
    """log(1 + |STFT|) at the paper's settings, of the equal-RMS signal."""
    import librosa

    return np.log1p(np.abs(librosa.stft(equal_rms(x), n_fft=N_FFT, hop_length=HOP)))


def log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """[mels, frames] in dB, floored at MEL_FLOOR_DB, of the equal-RMS signal."""
    import librosa

    mel = librosa.feature.melspectrogram(y=equal_rms(x), sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, power=2.0)
    return np.maximum(10 * np.log10(np.maximum(mel, 1e-12)), MEL_FLOOR_DB)


def content_correlation(output: np.ndarray, content: np.ndarray) -> float:
    """Pearson correlation of the two log-spectrograms (the paper's Fig. 3 measure)."""
    a, b = log_spectrogram(output), log_spectrogram(content)
    frames = min(a.shape[1], b.shape[1])
    a, b = a[:, :frames].ravel(), b[:, :frames].ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def mel_covariance_distance(a_mel: np.ndarray, b_mel: np.ndarray) -> float:
    """Frobenius distance between the covariances of mel bands across frames (dB²)."""
    return float(np.linalg.norm(np.cov(a_mel) - np.cov(b_mel)))


def spectral_envelope_distance(a_mel: np.ndarray, b_mel: np.ndarray) -> float:
    """RMS difference (dB) between the time-averaged mel spectra."""
    return float(np.sqrt(np.mean((a_mel.mean(axis=1) - b_mel.mean(axis=1)) ** 2)))


def onset_autocorrelation(mel_db: np.ndarray, sr: int, max_lag: int | None = None) -> np.ndarray:
    """Autocorrelation of the onset-strength envelope (spectral flux of the mel dB), lag 0 → 1."""
    flux = np.maximum(np.diff(mel_db, axis=1), 0.0).mean(axis=0)
    flux = flux - flux.mean()
    n = flux.size
    spectrum = np.fft.rfft(flux, 2 * n)
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    ac = ac / np.arange(n, 0, -1)  # unbiased: each lag averaged over the frames it overlaps
    ac = ac / max(ac[0], 1e-12)
    lags = max_lag if max_lag is not None else int(RHYTHM_MAX_LAG_SECONDS * sr / HOP)
    return ac[1:min(lags, n // 2) + 1]


def rhythm_distance(a_mel: np.ndarray, b_mel: np.ndarray, sr: int) -> float:
    """RMS difference of onset autocorrelations over lags up to 2 s (or half the shorter clip)."""
    lags = min(int(RHYTHM_MAX_LAG_SECONDS * sr / HOP), a_mel.shape[1] // 2 - 1, b_mel.shape[1] // 2 - 1)
    a, b = onset_autocorrelation(a_mel, sr, lags), onset_autocorrelation(b_mel, sr, lags)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _random_filters(width: int) -> np.ndarray:
    rng = np.random.default_rng(GRAM_SEED + width)
    return rng.standard_normal((GRAM_FILTERS, N_MELS, width)) / np.sqrt(N_MELS * width)


def random_conv_gram(mel_db: np.ndarray, width: int) -> np.ndarray:
    """Gram / frames of ReLU(random conv over time, mel bands as channels) on (mel dB − floor) / 10."""
    x = (mel_db - MEL_FLOOR_DB) / 10.0  # ≥ 0, silence at 0, like the log-magnitudes the paper convolves
    filters = _random_filters(width)
    frames = x.shape[1] - width + 1
    if frames < 1:
        raise ValueError(f"a {width}-frame conv needs at least {width} frames, got {x.shape[1]}")
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=1)  # [mels, frames', width]
    feats = np.maximum(np.einsum("fmw,mtw->ft", filters, windows, optimize=True), 0.0)
    return feats @ feats.T / frames


def gram_distance(a_mel: np.ndarray, b_mel: np.ndarray, width: int) -> float:
    """‖G(a) − G(b)‖ / mean(‖G(a)‖, ‖G(b)‖): a scale-free texture distance at one conv width."""
    ga, gb = random_conv_gram(a_mel, width), random_conv_gram(b_mel, width)
    return float(2 * np.linalg.norm(ga - gb) / max(np.linalg.norm(ga) + np.linalg.norm(gb), 1e-12))


def style_distances(x: np.ndarray, style: np.ndarray, sr: int, widths=GRAM_WIDTHS) -> dict[str, float]:
    """Every style distance of ``x`` to ``style`` at equal RMS."""
    a, b = log_mel(x, sr), log_mel(style, sr)
    out = {"mel_covariance": mel_covariance_distance(a, b),
           "spectral_envelope": spectral_envelope_distance(a, b),
           "rhythm": rhythm_distance(a, b, sr)}
    for w in widths:
        out[f"gram_w{w}"] = gram_distance(a, b, w)
    return out


def griffin_lim_convergence(x: np.ndarray, iterations: int = 100, seed: int = 0) -> float:
    """Spectral convergence Griffin-Lim reaches on this signal's own magnitude from a random phase:
    the floor a consistent (real) STFT magnitude gives, for comparison with an optimised one."""
    import librosa

    magnitude = np.abs(librosa.stft(equal_rms(x), n_fft=N_FFT, hop_length=HOP))
    rebuilt = librosa.griffinlim(magnitude, n_iter=iterations, hop_length=HOP, n_fft=N_FFT, length=len(x),
                                 random_state=seed, momentum=0.99)
    again = np.abs(librosa.stft(rebuilt, n_fft=N_FFT, hop_length=HOP))
    frames = min(again.shape[1], magnitude.shape[1])
    return float(np.linalg.norm(again[:, :frames] - magnitude[:, :frames]) / max(np.linalg.norm(magnitude), 1e-12))


def evaluate(output: np.ndarray, content: np.ndarray, style: np.ndarray, sr: int) -> dict[str, float]:
    """Content correlation plus every style distance, for one output of one pair."""
    return {"content_correlation": content_correlation(output, content), **style_distances(output, style, sr)}


def positions(distances: dict[str, float], content_distances: dict[str, float]) -> dict[str, float]:
    """Each style distance as a fraction of the content's distance to the same style (1 = content, 0 = style)."""
    return {k: distances[k] / content_distances[k] if content_distances[k] > 0 else float("nan")
            for k in STYLE_MEASURES if k in distances}
