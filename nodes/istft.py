"""istft: back to audio, with the carried phase or, when there is none, Griffin-Lim."""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.payloads import Audio, PortKind
from audiostyle_engine.spec import Node, NodeSpec, Param, Port


class Istft(Node):
    spec = NodeSpec(
        type_name="istft",
        category="spectral",
        uses_device=True,
        summary="Inverse STFT; reconstructs phase with fast Griffin-Lim when the spectrogram has none.",
        inputs=(Port("spectrogram", PortKind.SPECTROGRAM),),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("phase", "choice", "auto", "auto: use carried phase if any, else Griffin-Lim; griffin_lim: always",
                  choices=("auto", "griffin_lim")),
            Param("griffin_lim_iterations", "int", settings.GRIFFIN_LIM_ITERATIONS, "Griffin-Lim iterations", min=0, max=100000),
            Param("momentum", "float", settings.GRIFFIN_LIM_MOMENTUM, "fast Griffin-Lim momentum (0: classic)", min=0.0, max=1.5),
        ),
    )

    def process(self, ctx, spectrogram) -> dict:
        import torch

        from ._spectral import griffin_lim, istft, spectral_convergence

        s = spectrogram
        magnitude = torch.from_numpy(np.ascontiguousarray(s.linear_magnitude(), dtype=np.float32)).to(ctx.device)
        if s.phase is not None and self.params["phase"] == "auto":
            spec = torch.polar(magnitude, torch.from_numpy(s.phase).to(ctx.device))
            signal = istft(spec, s.n_fft, s.hop_length, s.win_length, s.window, s.length)
        else:
            generator = torch.Generator().manual_seed(ctx.seed if ctx.seed is not None else 0)
            n_iter = self.params["griffin_lim_iterations"]
            signal = griffin_lim(magnitude, n_fft=s.n_fft, hop_length=s.hop_length, win_length=s.win_length,
                                 window=s.window, length=s.length, iterations=n_iter, momentum=self.params["momentum"],
                                 generator=generator,
                                 progress=lambda i, n: ctx.progress(i, n, "Griffin-Lim") if i % 10 == 0 or i == n else None)
            ctx.record("spectral_convergence",
                       spectral_convergence(magnitude, signal, s.n_fft, s.hop_length, s.win_length, s.window))
        samples = signal.detach().to("cpu", torch.float32).numpy()
        return {"audio": Audio(samples, s.sample_rate, source=s.source)}
