"""STFT, ISTFT and Griffin-Lim in torch, shared by the spectral nodes so that they agree on
conventions (centred frames, zero padding, periodic window) and can run on the run device."""
from __future__ import annotations

import numpy as np
import torch

WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window}


def window_tensor(name: str, win_length: int, device) -> torch.Tensor:
    return WINDOWS[name](win_length, periodic=True, dtype=torch.float32, device=device)


def _on_host(t: torch.Tensor) -> bool:
    # torch 2.13's CPU FFT (MKL) with more than one thread returned wrong frames in ~15 % of runs here
    # (8.9e-3 off numpy's FFT, the same input): on the CPU, outside autograd, librosa's (numpy/scipy)
    # FFT is used instead; the conventions are the same (centred frames, zero padding, periodic window).
    return t.device.type == "cpu" and not t.requires_grad


def stft(signal: torch.Tensor, n_fft: int, hop_length: int, win_length: int, window: str) -> torch.Tensor:
    """[channels, samples] float → complex [channels, bins, frames]."""
    if _on_host(signal):
        import librosa

        return torch.from_numpy(librosa.stft(signal.numpy(), n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                             window=window, center=True, pad_mode="constant"))
    return torch.stft(signal, n_fft, hop_length, win_length, window_tensor(window, win_length, signal.device),
                      center=True, pad_mode="constant", return_complex=True)


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, win_length: int, window: str, length: int) -> torch.Tensor:
    if _on_host(spec):
        import librosa

        return torch.from_numpy(librosa.istft(spec.numpy(), n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                              window=window, center=True, length=length))
    return torch.istft(spec, n_fft, hop_length, win_length, window_tensor(window, win_length, spec.device),
                       center=True, length=length)


def griffin_lim(magnitude: torch.Tensor, *, n_fft: int, hop_length: int, win_length: int, window: str, length: int,
                iterations: int, momentum: float, init_phase: torch.Tensor | None = None,
                generator: torch.Generator | None = None, progress=None) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin, Balazs, Søndergaard 2013): phase for a magnitude-only STFT.

    ``magnitude`` is linear, [channels, bins, frames]. Returns [channels, length] float.
    """
    if init_phase is None:
        phase = torch.rand(magnitude.shape, generator=generator, dtype=torch.float32).to(magnitude.device) * (2 * np.pi)
    else:
        phase = init_phase.to(magnitude.device, torch.float32)
    angles = torch.polar(torch.ones_like(magnitude), phase)
    previous = torch.zeros_like(angles)
    eps = 1e-16
    for i in range(iterations):
        signal = istft(magnitude * angles, n_fft, hop_length, win_length, window, length)
        rebuilt = stft(signal, n_fft, hop_length, win_length, window)
        angles = rebuilt - (momentum / (1 + momentum)) * previous if momentum else rebuilt
        angles = angles / (angles.abs() + eps)
        previous = rebuilt
        if progress is not None:
            progress(i + 1, iterations)
    return istft(magnitude * angles, n_fft, hop_length, win_length, window, length)


def spectral_convergence(target_magnitude: torch.Tensor, signal: torch.Tensor, n_fft: int, hop_length: int,
                         win_length: int, window: str) -> float:
    """‖ |STFT(signal)| − target ‖ / ‖ target ‖: how consistent a magnitude and a signal are."""
    rebuilt = stft(signal, n_fft, hop_length, win_length, window).abs()
    frames = min(rebuilt.shape[-1], target_magnitude.shape[-1])
    diff = rebuilt[..., :frames] - target_magnitude[..., :frames]
    return float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(target_magnitude[..., :frames]).clamp_min(1e-12))
