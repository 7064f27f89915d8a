"""stft: short-time Fourier transform; magnitude stored as log(1 + |S|) as in the paper."""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.errors import ParameterError
from audiostyle_engine.payloads import PortKind, Spectrogram
from audiostyle_engine.spec import Node, NodeSpec, Param, ParamProblem, Port


class Stft(Node):
    spec = NodeSpec(
        type_name="stft",
        category="spectral",
        summary="Short-time Fourier transform → magnitude (log1p or linear) and phase.",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("spectrogram", PortKind.SPECTROGRAM, "[channels, n_fft/2+1, frames]"),),
        params=(
            Param("n_fft", "int", settings.N_FFT, "FFT size (paper: 2048)", min=16, max=65536, unit="samples"),
            Param("hop_length", "int", settings.HOP_LENGTH, "hop between frames", min=1, unit="samples"),
            Param("win_length", "int", None, "window length (null: n_fft)", min=16, unit="samples", nullable=True),
            Param("window", "choice", settings.WINDOW, "analysis window", choices=("hann", "hamming", "blackman")),
            Param("scale", "choice", settings.MAGNITUDE_SCALE, "log1p: log(1+|S|) as in the paper; linear: |S|",
                  choices=("log1p", "linear")),
            Param("keep_phase", "bool", True, "carry the phase so istft can invert exactly"),
        ),
    )

    @classmethod
    def check_params(cls, params):
        problems = []
        win = params["win_length"] or params["n_fft"]
        if win > params["n_fft"]:
            problems.append(ParamProblem("win_length", f"win_length={win} must not exceed n_fft={params['n_fft']}"))
        if params["hop_length"] > win:
            problems.append(ParamProblem("hop_length", f"hop_length={params['hop_length']} must not exceed the window "
                                         f"length {win}, or samples are skipped"))
        return problems

    def process(self, ctx, audio) -> dict:
        import torch

        from ._spectral import stft

        p = self.params
        win = p["win_length"] or p["n_fft"]
        if audio.frames < 2:
            raise ParameterError(f"{audio.label} is too short for an STFT")
        spec = stft(torch.from_numpy(audio.samples), p["n_fft"], p["hop_length"], win, p["window"])
        magnitude = spec.abs().numpy()
        if p["scale"] == "log1p":
            magnitude = np.log1p(magnitude)
        phase = spec.angle().numpy() if p["keep_phase"] else None
        return {"spectrogram": Spectrogram(magnitude.astype(np.float32), audio.sample_rate, p["n_fft"], p["hop_length"],
                                           win, p["window"], audio.frames, p["scale"], phase, audio.source)}
