"""The optimisation behind the feature_style node: L-BFGS over a log-magnitude or a waveform, with
a loss built from fixed feature extractors (pretrained.py, texture.py) instead of the paper's
random conv layer. One L-BFGS iteration per step, so the tolerance is checked between iterations;
the step's first evaluation (at the point the last line search accepted) comes from a one-entry cache."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from audiostyle_engine import settings
from audiostyle_engine.errors import ParameterError


@dataclass(frozen=True)
class FeatureConfig:
    domain: str  # "logmag", "consistent" or "waveform"
    alpha: float  # content weight
    beta: float  # pretrained Gram style weight
    texture_weight: float
    iterations: int
    tolerance: float | None
    tolerance_window: int
    history_size: int = 10
    rhythm_weight: float = 0.0  # weight of the features' autocovariance over time (pretrained.autocovariance)
    rhythm_seconds: float = settings.FEATURE_RHYTHM_SECONDS
    hold_content: bool = False  # hold the content correlation at the start's (a floor), instead of pulling to it
    random_beta: float = 0.0  # weight of the Gram loss through the same architecture with random weights
    frame_weight: float = 0.0  # weight of the frame vectors' mean and covariance (pretrained.frame_statistics)
    hold_scale: str = "linear"  # hold_content's correlation over the STFT's bins, or over mel bands ("mel")
    onset_weight: float = 0.0  # weight of the onset envelope's autocorrelation (onsets.OnsetRhythmLoss)
    smooth_frames: int = 1  # the change from the start, smoothed over this many frames in time (Variable)
    smooth_shape: str = "centred"  # the smoothing window: centred on each frame, or trailing it (Variable)


class Variable:
    """Maps the optimised tensor z to the magnitude |S| and back to an output (log1p magnitude, phase).

    logmag: z = log1p|S| with the start's phase; the loss sees |S| as set, though the STFT of any signal
    differs from it wherever the frames disagree, so part of what the optimiser puts in is lost in the ISTFT.
    consistent: z = log|S| with the start's phase, and the loss sees |STFT(ISTFT(S))|, the magnitude of the
    signal that will be heard (the output is that signal's STFT). log rather than log1p: quiet bins, where
    the style has to go, move by factors rather than by amounts (measured on the devset: piano+amen's tagger
    margin −0.03 with logmag's view of the loss, −0.14 with the consistent one in log1p, −0.22 in log).
    waveform: z is the signal, through a differentiable STFT.

    smooth_frames (logmag, consistent): what the loss sees and the output is the start plus the change z − z_start
    smoothed over that many frames in time (a Hann window), so the optimiser cannot make a change that comes and
    goes from one frame to the next; 1: none. smooth_shape "centred" centres the window on each frame (a change
    fades in before the frame it was put at as much as it fades out after it); "trailing" makes each frame's change
    of its own frame and those before it, with falling weights (the second half of a Hann window), so a change
    starts at the frame it was put at and dies away after it, as a struck sound does: no fade-in before a hit."""

    def __init__(self, domain: str, stft_args: tuple, length: int, content_phase: np.ndarray, device="cpu",
                 smooth_frames: int = 1, smooth_shape: str = "centred"):
        self.domain, self.stft_args, self.length, self.device = domain, stft_args, length, device
        if smooth_frames > 1 and domain == "waveform":
            raise ValueError("smooth_frames needs a spectrogram domain (the node's check_params says so to users)")
        if smooth_shape not in ("centred", "trailing"):
            raise ValueError(f"smooth_shape must be centred or trailing, not {smooth_shape!r}")
        # smooth_frames: the smoothed change at frame t is the sum of weight × change[t − pad_before + offset] over
        # these (offset, weight) taps, the clip's edges padded with their own frame. The Hann weights leave out the
        # window's zero ends and sum to 1, so a change constant in time passes unchanged.
        self._taps, self._pads = None, (0, 0)
        if smooth_frames > 1:
            k = smooth_frames
            if smooth_shape == "trailing":  # from the window's peak down: weights[j] for the frame j before
                window = torch.hann_window(2 * k + 1, periodic=False, dtype=torch.float64)[k:-1]
                weights = [float(w) for w in window / window.sum()]
                self._taps, self._pads = [(k - 1 - j, w) for j, w in enumerate(weights)], (k - 1, 0)
            else:
                window = torch.hann_window(k + 2, periodic=False, dtype=torch.float64)[1:-1]
                self._taps = list(enumerate(float(w) for w in window / window.sum()))
                self._pads = ((k - 1) // 2, k // 2)
        self._z_start = None  # smooth_frames: the start, which the smoothed change is added to
        self.content_phase = content_phase
        self._phasor = torch.from_numpy(np.exp(1j * content_phase).astype(np.complex64)).to(device) \
            if domain == "consistent" else None
        self._rms = None  # consistent: the start's RMS, which the signal is held at
        self._z_max = None  # logmag, consistent: the most z may reach (settings.FEATURE_LOG_HEADROOM)

    def start(self, signal: np.ndarray) -> torch.Tensor:
        wave = torch.from_numpy(signal.astype(np.float32)).to(self.device)
        if self.domain == "waveform":
            return wave
        spectrum = self._spectrum(wave)
        if self.domain == "consistent":
            self._rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
            z = torch.log(spectrum.abs() + settings.FEATURE_CONSISTENT_FLOOR)
        else:
            z = torch.log1p(spectrum.abs())
        self._z_max = float(z.max()) + settings.FEATURE_LOG_HEADROOM
        self._z_start = z.detach().clone() if self._taps is not None else None
        return z

    def _effective(self, z: torch.Tensor) -> torch.Tensor:
        """z as the loss sees it and the output is made of: with smooth_frames, the start plus the change smoothed
        over time (edges padded with their own frame); no bin above the start's loudest +
        settings.FEATURE_LOG_HEADROOM, and the same bits below it."""
        if self._taps is not None:
            # A weighted sum of shifted copies: a fifth of the time of conv1d with replicate padding for one
            # channel (24 against 118 ms forward and backward on [1025, 861], one thread, AMX Xeon).
            (before, after), frames, change = self._pads, z.shape[1], z - self._z_start
            padded = torch.cat([change[:, :1].expand(-1, before), change, change[:, -1:].expand(-1, after)], 1)
            smoothed = sum(w * padded[:, i:i + frames] for i, w in self._taps)
            z = self._z_start + smoothed
        return z if self._z_max is None else z.clamp(max=self._z_max)

    def _spectrum(self, w: torch.Tensor) -> torch.Tensor:
        from .._spectral import stft

        return stft(w.unsqueeze(0), *self.stft_args)[0]

    def _signal(self, z: torch.Tensor) -> torch.Tensor:
        """The signal z stands for, at the start's RMS. The network's front end ignores level, so without this
        the level drifts freely in log|S| (0.2× to 3.2× the content's RMS over the devset, clipping where it
        rose); held, the optimiser cannot trade level for the content floor either."""
        from .._spectral import istft

        y = istft((torch.exp(self._effective(z)) * self._phasor).unsqueeze(0), *self.stft_args, self.length)[0]
        return y * (self._rms / torch.sqrt(torch.mean(y ** 2)).clamp_min(1e-12))

    def _heard(self, z: torch.Tensor) -> torch.Tensor:
        """waveform, consistent: the STFT of the signal z makes, which the loss sees and the output is."""
        return self._spectrum(z if self.domain == "waveform" else self._signal(z))

    def magnitude(self, z: torch.Tensor) -> torch.Tensor:
        if self.domain in ("waveform", "consistent"):
            s = self._heard(z)
            return torch.sqrt(s.real ** 2 + s.imag ** 2 + 1e-12)  # |·| has no gradient at 0
        return torch.expm1(self._effective(z).clamp_min(0.0))

    def output(self, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            if self.domain in ("waveform", "consistent"):
                s = self._heard(z)
                return torch.log1p(s.abs()).cpu().numpy(), s.angle().cpu().numpy()
            return self._effective(z).clamp_min(0.0).cpu().numpy(), self.content_phase


class _NonFinite(Exception):
    """An evaluation gave a non-finite loss or gradient (raised through L-BFGS's step to abandon it)."""


def optimise(loss_fn, z0: torch.Tensor, cfg: FeatureConfig, progress=None, variable: Variable | None = None,
             content_logmag: torch.Tensor | None = None, on_stall=None) -> tuple[torch.Tensor, dict]:
    """L-BFGS over z; the history has the keys of the style_transfer node's (reports and the CLI read them).

    on_stall: called once when a step finds no lower point or meets a non-finite loss; if it returns True it has
    changed loss_fn (e.g. its networks from bf16 to fp32), and the optimisation goes on from where it stood with a
    fresh L-BFGS history (the old one describes the other function); ``history["stall_iteration"]`` records where."""
    z = z0.contiguous().clone().requires_grad_(True)

    def new_optimiser():
        return torch.optim.LBFGS([z], lr=1.0, max_iter=1, max_eval=40, history_size=cfg.history_size,
                                 line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14)

    opt = new_optimiser()
    cache: list = []
    history = {"iteration": [], "loss": [], "content_loss": [], "style_loss": [], "random_style_loss": [],
               "rhythm_loss": [], "frame_loss": [], "onset_loss": [], "texture_loss": [],
               "content_correlation": [], "seconds": [], "evaluations": 0, "stopped": "iterations",
               "stall_iteration": None}
    t0 = time.perf_counter()

    def evaluate():
        if cache and torch.equal(cache[0], z.detach()):
            return cache[1], cache[2], cache[3]
        zz = z.detach().clone().requires_grad_(True)
        loss, parts = loss_fn(zz)
        grad, = torch.autograd.grad(loss, zz)
        history["evaluations"] += 1
        if not (bool(torch.isfinite(loss)) and bool(torch.isfinite(grad).all())):
            raise _NonFinite  # torch's strong-Wolfe search can neither compare nor bracket a NaN
        cache[:] = [z.detach().clone(), loss.detach(), grad, parts]
        return loss.detach(), grad, parts

    def closure():
        loss, grad, _ = evaluate()
        z.grad = grad.contiguous().clone()
        return loss

    def note(iteration):
        from .core import correlation

        loss, _, parts = evaluate()
        history["iteration"].append(iteration)
        history["loss"].append(float(loss))
        for k in ("content", "style", "random_style", "rhythm", "frame", "onset", "texture"):
            history[f"{k}_loss"].append(float(parts[k]))
        corr = float("nan")
        if variable is not None and content_logmag is not None:
            with torch.no_grad():
                corr = float(correlation(torch.log1p(variable.magnitude(z.detach())), content_logmag))
        history["content_correlation"].append(corr)
        history["seconds"].append(time.perf_counter() - t0)

    try:
        note(0)
    except _NonFinite:
        raise ParameterError("feature_style: the loss or its gradient is not finite at the start; check the inputs "
                             "for non-finite samples") from None

    def back_to(point) -> None:
        with torch.no_grad():
            z.copy_(point)
        cache.clear()

    def step(before) -> bool:
        """One L-BFGS step. A trial point where the loss or its gradient is not finite abandons it (the line
        search would step on without bound, or fail): z goes back to ``before`` and the answer is False."""
        try:
            opt.step(closure)
            return True
        except _NonFinite:
            back_to(before)
            return False

    for iteration in range(1, cfg.iterations + 1):
        before = z.detach().clone()
        finite = step(before)
        # A step that found no lower point, or no finite one, gets one more try if on_stall changes the loss.
        if (not finite or torch.equal(before, z.detach())) and on_stall is not None \
                and history["stall_iteration"] is None and on_stall():
            history["stall_iteration"] = iteration
            cache.clear()
            opt = new_optimiser()
            finite = step(before)
        if not finite:
            history["stopped"] = "non_finite"
            break
        if torch.equal(before, z.detach()):
            history["stopped"] = "no_progress"
            break
        try:
            note(iteration)  # the line search evaluated this point finite; a re-evaluation need not be cached
        except _NonFinite:
            back_to(before)
            history["stopped"] = "non_finite"
            break
        if progress:
            progress(iteration, cfg.iterations, history["loss"][-1])
        w = cfg.tolerance_window
        if cfg.tolerance is not None and len(history["loss"]) > w and \
                history["loss"][-1 - w] - history["loss"][-1] <= cfg.tolerance * abs(history["loss"][-1]):
            history["stopped"] = "converged"
            break
    return z.detach(), history


def _content_floor(content_mag: torch.Tensor, start_mag: torch.Tensor, scale: str = "linear", *,
                   sample_rate: int | None = None, n_fft: int | None = None):
    """mag -> the hold_content penalty: steep below the start's content correlation, 0 above it.

    scale "linear" correlates the STFT's bins, as the bench's content measure does; "mel" first sums them into
    mel bands (librosa's Slaney bands, as many as the pretrained network's htk ones), so that each register
    weighs about what it weighs to the network's front end: over linear bins the 12 of 1025 below 250 Hz make
    a change there cheap for the floor, and the Grams, which see 8 of 96 bands there, filled the bass.
    Measured worse on the real pairs (docs/quality.md)."""
    from .core import correlation

    project = _mel_projection(sample_rate, n_fft, content_mag.device) if scale == "mel" else (lambda mag: mag)
    content_logmag = torch.log1p(project(content_mag))
    with torch.no_grad():
        target = correlation(torch.log1p(project(start_mag)), content_logmag)

    def penalty(mag: torch.Tensor) -> torch.Tensor:
        shortfall = target - correlation(torch.log1p(project(mag)), content_logmag)
        return settings.FEATURE_HOLD_CONTENT_WEIGHT * torch.relu(shortfall) ** 2

    return penalty


def _mel_projection(sample_rate: int, n_fft: int, device="cpu"):
    """|S| [bins, frames] -> mel-band magnitudes [bands, frames] (librosa's Slaney filters, unit area)."""
    import librosa

    bank = torch.from_numpy(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=settings.FEATURE_HOLD_MEL_BANDS)
                            .astype(np.float32)).to(device)
    return lambda mag: bank @ mag


def build_loss(cfg: FeatureConfig, variable: Variable, content_mag: torch.Tensor, style_mag: torch.Tensor, *,
               net=None, random_net=None, style_blocks=(1, 2, 3, 4), content_block: int = 4, gram_bands: int = 1, sample_rate: int,
               n_fft: int, hop_length: int, start_mag: torch.Tensor | None = None, random_blocks=None):
    """loss(z) = alpha·content + beta·pretrained style + random_beta·random-weight style + rhythm_weight·rhythm
    + frame_weight·frame statistics + onset_weight·onset rhythm + texture_weight·texture (+ the content floor
    with hold_content), and its parts.

    hold_content: the Pearson correlation of log1p magnitudes with the content's, as the start (``start_mag``,
    e.g. a light mix of the style under the content) has it, becomes a floor: below it the loss rises steeply,
    above it nothing pulls towards the content. So the start sets how much of the content the output keeps
    (as much as that mix), and the style term spends all the rest; a content loss (alpha) pulls back to the
    content's features everywhere, and from a mix back along the mix line. hold_scale "mel": that correlation
    over mel bands (_content_floor). random_blocks: the random-weight Gram's blocks (None: style_blocks)."""
    from .pretrained import PretrainedLoss

    # The caller builds a network only when a weighted term reads it.
    pretrained = random_gram = texture = None
    if net is not None:
        pretrained = PretrainedLoss(net, content_mag ** 2, style_mag ** 2, style_blocks, content_block, gram_bands,
                                    cfg.rhythm_seconds if cfg.rhythm_weight > 0 else None, cfg.frame_weight > 0)
    if random_net is not None:  # only its Gram is read; its content block is the deepest style block
        random_blocks = style_blocks if random_blocks is None else random_blocks
        random_gram = PretrainedLoss(random_net, content_mag ** 2, style_mag ** 2, random_blocks, max(random_blocks),
                                     gram_bands)
    if cfg.texture_weight > 0:
        from .texture import TextureLoss

        texture = TextureLoss(style_mag, sample_rate, n_fft, hop_length)
    onset = None
    if cfg.onset_weight > 0:
        from .onsets import OnsetRhythmLoss
        from .pretrained import FrontEnd, block_hop_seconds

        onset = OnsetRhythmLoss(FrontEnd(content_mag.device), content_mag ** 2, style_mag ** 2, cfg.rhythm_seconds, block_hop_seconds(1))
    zero = torch.zeros(())
    content_floor = None
    if cfg.hold_content:
        if start_mag is None:
            raise ValueError("hold_content needs the start's magnitude")
        content_floor = _content_floor(content_mag, start_mag, cfg.hold_scale, sample_rate=sample_rate, n_fft=n_fft)

    def loss_fn(z):
        mag = variable.magnitude(z)
        # Each network squares mag itself: one shared power changes the gradient's rounding, and L-BFGS then takes
        # another path (loss 2.341 → 2.361 on the bundled beyond_paper), which the stored bench digits would not match.
        terms = pretrained.terms(mag ** 2) if pretrained is not None else dict.fromkeys(("content", "style", "rhythm", "frame"), zero)
        content, style, rhythm, frame = terms["content"], terms["style"], terms["rhythm"], terms["frame"]
        random_style = random_gram.terms(mag ** 2)["style"] if random_gram is not None else zero
        tex = texture(mag) if texture is not None else zero
        onsets = onset(mag ** 2) if onset is not None else zero
        total = cfg.alpha * content + cfg.beta * style + cfg.random_beta * random_style + \
            cfg.rhythm_weight * rhythm + cfg.frame_weight * frame + cfg.texture_weight * tex
        if onset is not None:  # added only when weighted: a zero term would still change the sum's rounding
            total = total + cfg.onset_weight * onsets
        if content_floor is not None:
            total = total + content_floor(mag)
        return total, {"content": content.detach(), "style": style.detach(), "random_style": random_style.detach(),
                       "rhythm": rhythm.detach(), "frame": frame.detach(), "onset": onsets.detach(),
                       "texture": tex.detach()}

    return loss_fn
