"""Features of a pretrained sound-effects CNN, used like VGG in image style transfer (Gatys et al. 2016).

The network is the Cnn_9layers embedding net of aiSFX (Ma & Lerch, ISMIR 2022; Kong et al.'s DCASE
cross-task baseline): four blocks of two 3×3 conv + batch-norm + ReLU layers (64, 128, 256, 512
channels), 2×2 max pooling after the first three, over a 96-band log-mel spectrogram at 44.1 kHz.
Its trained weights ship inside the `aisfx` 0.1.2 wheel (`pip install --no-deps aisfx==0.1.2`; its
own requirements pin old numpy/librosa, and none of its code is imported here). Licence: the wheel's
LICENSE file puts the pretrained model under CC BY 4.0 (attribution: A.B. Ma and A. Lerch, 2022),
while its package metadata says MIT — the stricter reading, CC BY 4.0 with attribution, is what this
project follows; the weights are never copied into this repository.

The architecture is written out here (it is a few lines) and the front end is re-implemented in
torch so that gradients flow from the features back to a magnitude or a waveform:

    mel = M · |STFT(x)|² (n_fft 2048, hop 1024, Hann, htk mel, filters of unit area, 0–22.05 kHz)
    input = log10(1 + 10000 · mel) / 9.4578       (aiSFX's "original" min-max normalisation)

Our spectrograms have hop 512, so the network's frames are every second frame of ours. Level: aiSFX
peak-normalises its input; here the power is scaled so the clip's mean power is that of a signal at
the bench's reference RMS, which is differentiable and makes the features independent of level.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import torch
import torch.nn.functional as F

SAMPLE_RATE = 44100
N_FFT = 2048
HOP_RATIO = 2  # the network's hop (1024) in frames of ours (512)
N_MELS = 96
LOG_SCALE = 10000.0
INPUT_MAX = 9.457798957824707  # aiSFX's normalisation constant for log10(1 + 10000·mel)
CHANNELS = (64, 128, 256, 512)
REFERENCE_RMS = 0.1  # as bench/quality: every clip seen at one level
INSTALL_HINT = "pip install --no-deps aisfx==0.1.2"


def checkpoint_path() -> str:
    spec = importlib.util.find_spec("aisfx")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the pretrained features need the aisfx package's weights; install them with {INSTALL_HINT}")
    return os.path.join(os.path.dirname(spec.origin), "models", "checkpoint.pth")


def load_weights(path: str | None = None) -> dict[str, torch.Tensor]:
    """The embedding net's tensors from the aisfx checkpoint, loaded with torch's weights-only unpickler."""
    path = path or checkpoint_path()
    # The checkpoint is (state_dict, {dataset: (numpy int, classes)}): allow exactly those numpy types.
    try:
        from numpy._core.multiarray import scalar  # numpy ≥ 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar

    allowed = [(scalar, "numpy.core.multiarray.scalar"), np.dtype, np.dtypes.Int64DType]
    with torch.serialization.safe_globals(allowed):
        state, _ = torch.load(path, map_location="cpu", weights_only=True)
    prefix = "embedding_net."
    return {k[len(prefix):]: v.float() for k, v in state.items() if k.startswith(prefix)}


def random_weights(seed: int = 0, channels=CHANNELS) -> dict[str, torch.Tensor]:
    """Weights of the same architecture, Kaiming-random: for tests, and a control without training."""
    g = torch.Generator().manual_seed(seed)
    out, cin = {}, 1
    for b, c in enumerate(channels, start=1):
        for i, ci in ((1, cin), (2, c)):
            out[f"conv_block{b}.conv{i}.weight"] = torch.randn(c, ci, 3, 3, generator=g) * np.sqrt(2 / (ci * 9))
            out[f"conv_block{b}.bn{i}.weight"] = torch.ones(c)
            out[f"conv_block{b}.bn{i}.bias"] = torch.zeros(c)
            out[f"conv_block{b}.bn{i}.running_mean"] = torch.zeros(c)
            out[f"conv_block{b}.bn{i}.running_var"] = torch.ones(c)
        cin = c
    return out


class FrontEnd:
    """|STFT|² [bins, frames] at our hop → the network's input [1, 1, frames/2, 96]: mel filters and a log, the
    same whatever the weights (so the onset loss reads it without a network)."""

    def __init__(self, device="cpu"):
        self.mel = torch.from_numpy(_mel_filters()).to(device)

    def __call__(self, power: torch.Tensor) -> torch.Tensor:
        power = power[:, ::HOP_RATIO]
        target = REFERENCE_RMS ** 2 * 0.375 * N_FFT  # E|X_k|² of white noise at that RMS through a Hann window
        power = power * (target / power.mean().clamp_min(1e-20))
        mel = self.mel @ power
        return (torch.log10(1 + LOG_SCALE * mel) / INPUT_MAX).T[None, None]


class FeatureNet:
    """The four conv blocks, batch norm folded into each conv (eval mode); returns every block's activation."""

    def __init__(self, weights: dict[str, torch.Tensor], device="cpu", eps: float = 1e-5, precision: str = "fp32"):
        # bf16: the convolutions in bfloat16 (oneDNN accumulates in fp32); the front end and everything computed
        # from the activations (Grams, autocovariances, the content loss) stay in fp32.
        self.layers, self._exact = [], []
        blocks = sorted({k.split(".")[0] for k in weights if k.startswith("conv_block")})
        for b in blocks:
            convs = []
            for i in (1, 2):
                w = weights[f"{b}.conv{i}.weight"]
                scale = weights[f"{b}.bn{i}.weight"] / torch.sqrt(weights[f"{b}.bn{i}.running_var"] + eps)
                bias = weights[f"{b}.bn{i}.bias"] - weights[f"{b}.bn{i}.running_mean"] * scale
                convs.append(((w * scale[:, None, None, None]).to(device), bias.to(device)))
            self._exact.append(convs)
        self.front_end = FrontEnd(device)
        self.use_precision(precision)

    def use_precision(self, precision: str) -> None:
        """Run the convolutions in fp32 or bf16 from now on (the fp32 weights are kept, so bf16 → fp32 is exact)."""
        self.precision, self.dtype = precision, {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        # bf16 weights channels-last like the activations, or oneDNN reorders every weight on every call
        # (about 10 ms of a 0.28 s evaluation of beyond_paper's loss on the AMX Xeon).
        layout = torch.channels_last if self.dtype != torch.float32 else torch.contiguous_format
        self.layers = [[(w.to(self.dtype).contiguous(memory_format=layout), b.to(self.dtype)) for w, b in convs]
                       for convs in self._exact]

    def __call__(self, power: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        x = self.front_end(power)
        if self.dtype != torch.float32:
            # oneDNN's bf16 kernels (AMX, AVX-512-BF16) are fastest on channels-last tensors: 2.9x fp32 against
            # 1.8x channels-first for the two networks' forward and backward on 10 s (2-core AMX Xeon).
            x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        outs = []
        for b, convs in enumerate(self.layers[:upto]):
            for w, bias in convs:
                x = F.relu(F.conv2d(x, w, bias, padding=1))
            # [channels, time, mels]; .float() is a no-op in fp32. squeeze, not x[0]: a select's backward writes
            # into a fresh contiguous tensor, a transposing copy of bf16's channels-last gradient.
            outs.append(x.squeeze(0).float())
            if b < 3:
                x = F.max_pool2d(x, 2)
        return outs


def _mel_filters() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=SAMPLE_RATE / 2, htk=True,
                               norm=1.0).astype(np.float32)


def gram(feats: torch.Tensor) -> torch.Tensor:
    """[channels, time, mels] → channels × channels, divided by the number of positions."""
    positions_major = feats.permute(1, 2, 0)
    if feats.shape[0] > 1 and positions_major.is_contiguous():
        # bf16 activations come channels-last: read them as [positions, channels] as they lie, where a
        # [channels, positions] reshape would transpose them (a tenth of a bf16 evaluation on the AMX Xeon).
        f = positions_major.reshape(-1, feats.shape[0])
        return f.T @ f / f.shape[0]
    f = feats.reshape(feats.shape[0], -1)
    return f @ f.T / f.shape[1]


def mel_ranges(feats: torch.Tensor, bands: int) -> tuple[torch.Tensor, ...]:
    """[channels, time, mels] cut into ``bands`` contiguous ranges of the mel axis, as equal as the block's
    mel positions allow (never more ranges than positions)."""
    if min(bands, feats.shape[2]) == 1:
        # No slice: a slice's backward writes its gradient into a fresh contiguous tensor, which transposes
        # bf16's channels-last features (a twelfth of a bf16 evaluation on the AMX Xeon).
        return (feats,)
    return torch.tensor_split(feats, min(bands, feats.shape[2]), dim=2)


def band_grams(feats: torch.Tensor, bands: int) -> list[torch.Tensor]:
    """One Gram per range of the mel axis (mel_ranges). A single Gram pools over frequency as over time, so
    it says which textures occur but not at which pitch or register; one per range keeps that (the paper's
    layer, which takes frequency bins as channels, keeps it fully)."""
    return [gram(part) for part in mel_ranges(feats, bands)]


def autocovariance(feats: torch.Tensor, lags: int, bands: int = 1) -> torch.Tensor:
    """[channels, time, mels] → [channels·bands, lags]: each channel's activation, averaged over each range
    of the mel axis, its mean removed, multiplied by itself 1..lags frames later and averaged over the frames
    each lag overlaps. The Gram is blind to time; this sees how a texture repeats — a loop's beat (the
    autocorrelation term of Antognini et al. 2019, here on the pretrained features)."""
    a = torch.cat([part.mean(dim=2) for part in mel_ranges(feats, bands)])
    a = a - a.mean(dim=1, keepdim=True)
    t = a.shape[1]
    spectrum = torch.fft.rfft(a, n=2 * t)
    ac = torch.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=2 * t)[:, 1:lags + 1]
    return ac / torch.arange(t - 1, t - 1 - lags, -1, dtype=ac.dtype, device=ac.device)


def frame_statistics(feats: torch.Tensor, bands: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """[channels, time, mels] → (mean, covariance) over time of each frame's vector: every channel's
    activation averaged over each range of the mel axis. The Gram pools over time and frequency position
    by position, so it cannot say which textures sound in the same frame (a loop's hats with its kick,
    in bursts, or spread evenly under it); the covariance of frame vectors can, and its mean and
    covariance are the statistics a Fréchet distance between clips compares, here of another network."""
    v = torch.cat([part.mean(dim=2) for part in mel_ranges(feats, bands)])
    mean = v.mean(dim=1)
    centred = v - mean[:, None]
    return mean, centred @ centred.T / v.shape[1]


def block_hop_seconds(block: int) -> float:
    """Seconds between the time positions of a block's features (the net's hop, halved by each pooling)."""
    return N_FFT // 2 * 2 ** (block - 1) / SAMPLE_RATE


class PretrainedLoss:
    """Σ_l ‖G_l(x) − G_l(style)‖² / ‖G_l(style)‖² over the style blocks (with gram_bands, the mean of that
    over each block's mel ranges), ‖F_c(x) − F_c(content)‖² / ‖F_c(content)‖² at the content block, and
    with rhythm_seconds Σ_l ‖A_l(x) − A_l(style)‖² / ‖A_l(style)‖² of the autocovariances, and with
    frame_stats the same relative errors of the frame vectors' mean and covariance (frame_statistics): all
    scale-free, so their weights weigh comparable numbers whatever the clip."""

    def __init__(self, net: FeatureNet, content_power: torch.Tensor, style_power: torch.Tensor,
                 style_blocks=(1, 2, 3, 4), content_block: int = 4, gram_bands: int = 1,
                 rhythm_seconds: float | None = None, frame_stats: bool = False):
        self.net, self.style_blocks, self.content_block = net, tuple(style_blocks), content_block
        self.gram_bands = gram_bands
        self.upto = max(max(self.style_blocks), content_block)
        with torch.no_grad():
            style = net(style_power, self.upto)
            self.style_grams = {b: band_grams(style[b - 1], gram_bands) for b in self.style_blocks}
            content = net(content_power, self.upto)
            self.content_feats = content[content_block - 1]
            # Lags up to rhythm_seconds, and never beyond half of either clip (fewer overlaps than that
            # would make a lag's average a guess); a block with no lag left adds no term.
            self.style_rhythm = {}
            for b in self.style_blocks if rhythm_seconds else ():
                lags = min(int(round(rhythm_seconds / block_hop_seconds(b))), style[b - 1].shape[1] // 2,
                           content[b - 1].shape[1] // 2)
                if lags >= 1:
                    self.style_rhythm[b] = autocovariance(style[b - 1], lags, gram_bands)
            self.style_frames = {b: frame_statistics(style[b - 1], gram_bands)
                                 for b in (self.style_blocks if frame_stats else ())}

    def terms(self, power: torch.Tensor) -> dict[str, torch.Tensor]:
        """The losses by name: content, style, rhythm (0 without rhythm_seconds), frame (0 without frame_stats)."""
        feats = self.net(power, self.upto)
        # Each band's error relative to its own Gram, averaged: a quiet band counts as much as a loud one,
        # and with one band this is the plain Gram loss.
        style = sum(sum(_relative(g, t) for g, t in zip(band_grams(feats[b - 1], self.gram_bands), targets)) / len(targets)
                    for b, targets in self.style_grams.items())
        c, target = feats[self.content_block - 1], self.content_feats
        frames = min(c.shape[1], target.shape[1])
        content = _relative(c[:, :frames], target[:, :frames])
        rhythm = sum((_relative(autocovariance(feats[b - 1], t.shape[1], self.gram_bands), t)
                      for b, t in self.style_rhythm.items()), torch.zeros(()))
        frame = sum((sum(_relative(x, t) for x, t in zip(frame_statistics(feats[b - 1], self.gram_bands), targets))
                     for b, targets in self.style_frames.items()), torch.zeros(()))
        return {"content": content, "style": style, "rhythm": rhythm, "frame": frame}


def _relative(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((x - target) ** 2).sum() / (target ** 2).sum().clamp_min(1e-20)
