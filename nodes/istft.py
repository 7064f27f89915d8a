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
        inputs=(Port("spectrogram", PortKind.SPECTROGRAM),
                Port("phase_from", PortKind.SPECTROGRAM, "optional: a spectrogram with phase and the same frames (e.g. "
                     "the style transfer's content) whose phase starts Griffin-Lim instead of a random one",
                     optional=True)),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("phase", "choice", "auto", "auto: use carried phase if any, else Griffin-Lim; griffin_lim: always",
                  choices=("auto", "griffin_lim")),
            Param("griffin_lim_iterations", "int", settings.GRIFFIN_LIM_ITERATIONS, "Griffin-Lim iterations", min=0, max=100000),
            Param("momentum", "float", settings.GRIFFIN_LIM_MOMENTUM, "fast Griffin-Lim momentum (0: classic)", min=0.0, max=1.5),
        ),
    )

    def process(self, ctx, spectrogram, phase_from=None) -> dict:
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
            init_phase = None if phase_from is None else torch.from_numpy(_initial_phase(s, phase_from))
            ctx.record("phase_init", "random" if init_phase is None else "phase_from")
            signal = griffin_lim(magnitude, n_fft=s.n_fft, hop_length=s.hop_length, win_length=s.win_length,
                                 window=s.window, length=s.length, iterations=n_iter, momentum=self.params["momentum"],
                                 generator=generator, init_phase=init_phase,
                                 progress=lambda i, n: ctx.progress(i, n, "Griffin-Lim") if i % 10 == 0 or i == n else None)
        # How consistent magnitude and signal are: ~0 for a real STFT with its phase, higher where
        # Griffin-Lim had to find a phase for a magnitude no signal has.
        ctx.record("spectral_convergence",
                   spectral_convergence(magnitude, signal, s.n_fft, s.hop_length, s.win_length, s.window))
        samples = signal.detach().to("cpu", torch.float32).numpy()
        return {"audio": Audio(samples, s.sample_rate, source=s.source)}


def _initial_phase(s, phase_from) -> np.ndarray:
    """The phase of ``phase_from`` laid out like ``s``: channels broadcast from mono, frames cut or edge-padded."""
    from audiostyle_engine.errors import ParameterError

    if phase_from.phase is None:
        raise ParameterError(f"istft phase_from {phase_from.label} has no phase; set keep_phase: true on its stft")
    if (phase_from.n_fft, phase_from.hop_length) != (s.n_fft, s.hop_length):
        raise ParameterError(f"istft phase_from {phase_from.label} has n_fft {phase_from.n_fft}/hop {phase_from.hop_length}, "
                             f"the spectrogram {s.n_fft}/{s.hop_length}; use one stft setting for both")
    phase = phase_from.phase[[min(ch, phase_from.channels - 1) for ch in range(s.channels)]]
    if phase.shape[2] >= s.frames:
        return np.ascontiguousarray(phase[:, :, :s.frames], dtype=np.float32)
    return np.pad(phase, ((0, 0), (0, 0), (0, s.frames - phase.shape[2])), mode="edge").astype(np.float32)
