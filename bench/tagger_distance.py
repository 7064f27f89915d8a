"""Perceptual style distance from a pretrained music tagger (musicnn 0.1.0, MagnaTagATune model, ISC licence).

An optional benchmark extra, never a runtime dependency. Install beside the project, e.g. in a venv
that sees the system packages:

    python3 -m venv --system-site-packages .tagger && .tagger/bin/pip install tensorflow tf_keras
    .tagger/bin/pip install --no-deps musicnn==0.1.0   # its metadata pins an ancient numpy
    .tagger/bin/python bench/quality.py --tagger

The embedding of a clip is its sequence of frame vectors from the model's mid-end (the three
mid-end conv layers, 3 × 64 values per 16 ms frame); the distance between two clips is the Fréchet
distance between the Gaussians fitted to their frames. We build the model's input ourselves (16 kHz,
512-point STFT, hop 256, 96 mel bands, log10(1 + 10000·mel)) in float32: musicnn's own loader casts
the mel power to float16, which overflows at normal levels.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # musicnn builds its graph with tf.compat.v1.layers
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SR = 16000
MODEL = "MTT_musicnn"


def tagger_input(x: np.ndarray, sr: int) -> np.ndarray:
    """[frames, 96] log-mel in musicnn's convention, float32, from the equal-RMS signal."""
    import librosa

    from audiostyle_engine.quality import equal_rms

    y = librosa.resample(equal_rms(x), orig_sr=sr, target_sr=SR).astype(np.float32)
    mel = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=256, n_fft=512, n_mels=96).T
    return np.log10(10000 * mel.astype(np.float32) + 1)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of a and b."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # A 3 s clip has fewer frames than dimensions, so the covariances are singular; sqrtm still
    # gives the usual Fréchet value, only with its accuracy warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(ca @ cb)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca + cb - 2 * np.real(root)))


class TaggerDistance:
    """Loads the model once; embeds whole clips (musicnn accepts any input length)."""

    def __init__(self):
        import tensorflow as tf
        from musicnn import models

        tf.compat.v1.disable_eager_execution()
        self.tf = tf
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.compat.v1.placeholder(tf.float32, [None, None, 96])
            self.training = tf.compat.v1.placeholder(tf.bool)
            with tf.name_scope("model"):
                out = models.define_model(self.x, self.training, MODEL, 50)
            cnn1, cnn2, cnn3 = out[3], out[4], out[5]
            self.midend = tf.squeeze(tf.concat([cnn1, cnn2, cnn3], 2), 3)  # [batch, frames, 192]
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())
            import musicnn

            tf.compat.v1.train.Saver().restore(self.session, os.path.join(os.path.dirname(musicnn.__file__), MODEL) + "/")
        self._cache: dict[int, np.ndarray] = {}

    def embed(self, x: np.ndarray, sr: int = 44100) -> np.ndarray:
        key = hash(np.asarray(x, dtype=np.float64).tobytes())
        if key not in self._cache:
            feats = tagger_input(x, sr)[None]
            self._cache[key] = self.session.run(self.midend, {self.x: feats, self.training: False})[0]
        return self._cache[key]

    def distance(self, x: np.ndarray, style: np.ndarray, sr: int = 44100) -> float:
        return frechet(self.embed(x, sr), self.embed(style, sr))
