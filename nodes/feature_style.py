"""feature_style: style transfer through fixed feature extractors instead of the paper's random conv layer."""
from __future__ import annotations

import importlib.util
import time

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.device import exact_fp32_convolutions
from audiostyle_engine.errors import InputFileError, ParameterError
from audiostyle_engine.payloads import PortKind, Spectrogram
from audiostyle_engine.spec import IterationRecord, Node, NodeSpec, Param, ParamProblem, Port, ReportRoles

from ._inputs import refuse_silence

# Presets users pick by ear: name -> params they set (measured in docs/quality.md, "The levers, measured").
PRESETS = settings.FEATURE_STYLE_PRESETS


class FeatureStyle(Node):
    spec = NodeSpec(
        type_name="feature_style",
        category="spectral",
        uses_device=True,
        exclusive_device=True,
        summary="Style transfer with a pretrained sound CNN's Gram matrices and/or sound-texture statistics.",
        doc="Like VGG in image style transfer: Gram matrices of the aiSFX sound-effects CNN's four conv blocks "
            "(pretrained weights from `pip install --no-deps aisfx==0.1.2`, CC BY 4.0, Ma & Lerch 2022) as the style "
            "loss, its deepest block as the content loss, and optionally the McDermott-Simoncelli texture statistics; "
            "L-BFGS from the content over its log-magnitude (output keeps the content's phase) or its waveform.",
        inputs=(Port("content", PortKind.SPECTROGRAM, "log1p magnitude with phase (stft keep_phase: true)"),
                Port("style", PortKind.SPECTROGRAM, "log1p magnitude whose texture is transferred"),
                Port("start", PortKind.SPECTROGRAM, "where the optimisation starts, with its phase (e.g. the stft of a "
                     "morph of the content); the content loss still refers to `content`. Default: the content",
                     optional=True),
                Port("floor", PortKind.SPECTROGRAM, "with hold_content: the signal whose content correlation the floor "
                     "holds (e.g. a lighter mix than the start, so the optimiser must win content back from a start "
                     "heavier in the style). Default: the start", optional=True)),
        outputs=(Port("spectrogram", PortKind.SPECTROGRAM, "styled log1p magnitude with a phase, same frames as content"),),
        report=ReportRoles(sources=("content", "style"), makes="styled", iterations=IterationRecord(
            "history", losses=(("loss", "total (α·content + β·style + random style + rhythm + frame + onset + texture, + the content floor)"), ("content_loss", "content"),
                               ("style_loss", "pretrained Gram style"), ("random_style_loss", "random-weight Gram style"),
                               ("rhythm_loss", "rhythm (feature autocovariance)"),
                               ("frame_loss", "frame statistics"), ("onset_loss", "onset rhythm"),
                               ("texture_loss", "texture statistics")),
            correlation=("content_correlation", "correlation with content"), evaluations="evaluations",
            stopped="stopped", facts=("precision", "precision_reason"))),
        params=(
            Param("preset", "choice", None, "subtle / balanced / strong: sets alpha, beta and texture_weight "
                  "together, over any values given for them (null: use those values)", choices=tuple(PRESETS), nullable=True),
            Param("alpha", "float", 1.0, "content weight (deepest block's features, relative error)", min=0.0),
            Param("beta", "float", 1.0, "pretrained Gram style weight (relative error summed over style_blocks); "
                  "0: no pretrained network", min=0.0),
            Param("texture_weight", "float", 0.0, "weight of the sound-texture statistics loss (envelope moments, "
                  "modulation power, cross-band correlation)", min=0.0),
            Param("style_blocks", "list", [1, 2, 3, 4], "conv blocks (1-4) whose Gram matrices make the style loss"),
            Param("gram_bands", "int", 1, "Gram matrices per style block, each over one range of the mel axis "
                  "(low to high): 1 pools over frequency like an image's Gram; more keep the style's textures at "
                  "their own registers (each block has 96, 48, 24, 12 mel positions)", min=1, max=12),
            Param("rhythm_weight", "float", 0.0, "weight of the rhythm loss: the style blocks' features' "
                  "autocovariance over time (how the style's textures repeat: a loop's beat), which the Gram "
                  "cannot see", min=0.0),
            Param("frame_weight", "float", 0.0, "weight of the frame statistics loss: the mean and covariance over "
                  "time of each frame's pretrained features (pooled over each of gram_bands' mel ranges), in the "
                  "style blocks. The Gram cannot say which textures sound in the same frame (a loop's hats with "
                  "its kick, in bursts, or spread evenly); these can", min=0.0),
            Param("onset_weight", "float", 0.0, "weight of the onset rhythm loss: the autocorrelation of the "
                  "front end's onset envelope (one curve for the whole sound: how often it starts anew), the "
                  "style's against the output's, 1 at the content's", min=0.0),
            Param("rhythm_seconds", "float", settings.FEATURE_RHYTHM_SECONDS, "longest lag of the rhythm losses "
                  "(at most half of either clip)", min=0.1, max=30.0, unit="s"),
            Param("hold_content", "bool", False, "hold the output's content correlation (log-magnitudes against "
                  "the content's) at the start's, as a floor, instead of pulling it towards the content: with a "
                  "light mix as the start (a layer of the style under the content), the output keeps as much "
                  "of the content as that mix and the style loss spends the rest. Needs the start input; "
                  "alpha still adds its content loss (0: none)"),
            Param("hold_scale", "choice", "linear", "what hold_content correlates: linear: the STFT's bins, as the "
                  "bench's content measure; mel: mel bands, so that the bass weighs as much as the network's front end "
                  "gives it (over linear bins a change below 250 Hz is cheap); measured worse (docs/quality.md)",
                  choices=("linear", "mel")),
            Param("content_block", "int", 4, "conv block whose features make the content loss", min=1, max=4),
            Param("domain", "choice", "logmag", "logmag: optimise the log-magnitude, output with the content's phase; "
                  "consistent: the same, with the loss measured on the STFT of the signal it makes (what the ISTFT "
                  "keeps of it), output that signal; waveform: optimise the signal through a differentiable STFT",
                  choices=("logmag", "consistent", "waveform")),
            Param("smooth_frames", "int", 1, "logmag, consistent: the change from the start is smoothed over this many "
                  "frames in time (a Hann window; 9 frames ≈ 0.1 s at hop 512), so the optimiser cannot make a change "
                  "that comes and goes from frame to frame; 1: none", min=1, max=255),
            Param("smooth_shape", "choice", "centred", "smooth_frames' window: centred on each frame, or trailing "
                  "it (each frame's change made of its own and the frames before it, with falling weights: a change "
                  "starts where it was put and dies away after it, with no fade-in before a drum hit)",
                  choices=("centred", "trailing")),
            Param("init", "choice", "content", "content: start from the content; content_noise: the content plus "
                  "white noise noise_db below it", choices=("content", "content_noise")),
            Param("noise_db", "float", -30.0, "level of the start's noise relative to the content's RMS",
                  min=-120.0, max=0.0, unit="dB"),
            Param("iterations", "int", 60, "L-BFGS iterations", min=1, max=100000),
            Param("tolerance", "float", None, "stop when the loss fell by less than this fraction over "
                  "tolerance_window iterations", min=0.0, nullable=True),
            Param("tolerance_window", "int", settings.TOLERANCE_WINDOW, "iterations the tolerance looks back", min=1),
            Param("random_beta", "float", 0.0, "weight of a second Gram style loss, over the same style_blocks "
                  "and gram_bands, through the same architecture with random weights (seed): untrained features "
                  "follow the style's spectral texture more literally (a drum loop's bursts) where trained ones "
                  "follow what a listener would name; 0: none", min=0.0),
            Param("random_blocks", "list", None, "conv blocks (1-4) of random_beta's Gram (null: style_blocks)",
                  nullable=True),
            Param("weights", "choice", "pretrained", "pretrained: aiSFX's trained weights; random: the same "
                  "architecture with random weights (a control)", choices=("pretrained", "random")),
            Param("seed", "int", None, "seed for the start's noise and random weights (null: the run's --seed, else 0)",
                  nullable=True, min=0),
            Param("precision", "choice", "fp32", "fp32: exact; bf16: the networks' convolutions in bfloat16 (front end, "
                  "Grams, losses and optimiser in float32); auto: bf16 where a cached probe convolution measured it "
                  "faster on this CPU (AMX or AVX-512 bf16), or on CUDA with bf16 tensor cores; fp32 elsewhere",
                  choices=("fp32", "bf16", "auto")),
        ),
    )

    @classmethod
    def check_params(cls, params):
        problems = []
        for name in ("style_blocks", "random_blocks"):
            blocks = params[name]
            if name == "random_blocks" and blocks is None:
                continue
            if not blocks or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 4 for b in blocks):
                problems.append(ParamProblem(name, f"{name}={blocks!r} must list conv blocks 1 to 4"))
        from audiostyle_engine.precision import forced_bf16_problems

        problems += forced_bf16_problems(params["precision"], probe="conv")
        if params["smooth_frames"] > 1 and params["domain"] == "waveform":
            problems.append(ParamProblem("smooth_frames", "smooth_frames smooths a spectrogram's change over time and "
                                         "domain waveform optimises a signal; use domain logmag or consistent, or "
                                         "smooth_frames: 1"))
        p = {**params, **PRESETS.get(params["preset"], {})}
        # Caught here rather than minutes into a batch: the weights ship in a wheel that `pip install .` leaves
        # out (its own requirements pin old numpy and librosa). find_spec imports nothing.
        if p["weights"] == "pretrained" and _needs_network(p) and importlib.util.find_spec("aisfx") is None:
            problems.append(ParamProblem("weights", "the pretrained features need the aisfx package's weights; install "
                                                    "them with pip install --no-deps aisfx==0.1.2 (or weights: random)"))
        return problems

    @classmethod
    def check_inputs(cls, params, inputs):
        if params["hold_content"] and "start" not in inputs:
            return [ParamProblem("hold_content", "hold_content holds the content correlation at the start's, and no "
                                 "start is connected; connect one (e.g. the stft of a layer of the style under the "
                                 "content) or set hold_content: false")]
        if "floor" in inputs and not params["hold_content"]:
            return [ParamProblem("hold_content", "the floor input sets the correlation hold_content holds, and "
                                 "hold_content is false; set hold_content: true or disconnect floor")]
        return []

    def resolved(self) -> dict:
        """The params with the preset applied (a preset sets alpha, beta and texture_weight)."""
        p = dict(self.params)
        if p["preset"] is not None:
            p.update(PRESETS[p["preset"]])
        return p

    def process(self, ctx, content: Spectrogram, style: Spectrogram, start: Spectrogram | None = None,
                floor: Spectrogram | None = None) -> dict:
        import torch

        from ._style import feature_opt as fo

        p = self.resolved()
        self._check_inputs(content, style)
        start = self._check_start(content, start)
        floor = self._check_start(content, floor, "floor") if floor is not None else start
        seed = p["seed"] if p["seed"] is not None else (ctx.seed if ctx.seed is not None else 0)
        cfg = fo.FeatureConfig(p["domain"], p["alpha"], p["beta"], p["texture_weight"], p["iterations"],
                               p["tolerance"], p["tolerance_window"], rhythm_weight=p["rhythm_weight"],
                               rhythm_seconds=p["rhythm_seconds"], hold_content=p["hold_content"],
                               random_beta=p["random_beta"], frame_weight=p["frame_weight"],
                               hold_scale=p["hold_scale"], onset_weight=p["onset_weight"],
                               smooth_frames=p["smooth_frames"], smooth_shape=p["smooth_shape"])
        from ._style import pretrained as pt

        device = ctx.device
        decision = self._precision(ctx, p, cfg)
        net = None
        if _needs_network(p):
            try:
                weights = pt.load_weights() if p["weights"] == "pretrained" else pt.random_weights(seed)
            except FileNotFoundError as e:
                raise ParameterError(f"feature_style: {e} (or set beta: 0 and alpha: 0 to use the texture loss alone)") from e
            net = pt.FeatureNet(weights, device, precision=decision.precision)
        random_net = pt.FeatureNet(pt.random_weights(seed), device, precision=decision.precision) \
            if cfg.random_beta > 0 else None
        stft_args = (content.n_fft, content.hop_length, content.win_length, content.window)
        style_mag = torch.from_numpy(np.ascontiguousarray(style.linear_magnitude().mean(axis=0), dtype=np.float32)).to(device)
        out, phase = np.empty_like(content.magnitude), np.empty_like(content.magnitude)
        histories = []
        t0 = time.perf_counter()
        nets = [n for n in (net, random_net) if n is not None]

        def to_fp32() -> bool:
            """bf16's rounded gradient can leave the line search without a lower point long before fp32's would
            (measured: piano+amen's third excerpt stopped after 1 iteration at loss 3.44, fp32 went on to 0.88), so
            a bf16 run that stalls goes on in fp32 from where it stood."""
            if not any(n.precision == "bf16" for n in nets):
                return False
            for n in nets:
                n.use_precision("fp32")
            return True

        # fp32 means fp32 on CUDA too: cuDNN would run the convolutions in TF32 (bf16 ones are not affected).
        with exact_fp32_convolutions(device):
            for ch in range(content.channels):
                for n in nets:  # the style and content targets in fp32, whatever the optimisation runs in
                    n.use_precision("fp32")
                start_ch = ch if start.channels > 1 else 0
                signal = _content_signal(start, start_ch)
                if p["init"] == "content_noise":
                    rng = np.random.default_rng(seed + ch)
                    rms = float(np.sqrt(np.mean(signal ** 2)))
                    signal = signal + rng.standard_normal(signal.size) * rms * 10 ** (p["noise_db"] / 20)
                variable = fo.Variable(cfg.domain, stft_args, content.length, start.phase[start_ch], device,
                                       cfg.smooth_frames, cfg.smooth_shape)
                content_mag = torch.from_numpy(np.ascontiguousarray(content.linear_magnitude()[ch], dtype=np.float32)).to(device)
                z0 = variable.start(signal)
                floor_mag = None
                if p["hold_content"]:
                    floor_mag = variable.magnitude(z0) if floor is start else \
                        self._floor_magnitude(cfg, stft_args, content.length, floor, ch, device)
                loss_fn = fo.build_loss(cfg, variable, content_mag, style_mag, net=net, random_net=random_net, style_blocks=tuple(p["style_blocks"]),
                                        random_blocks=tuple(p["random_blocks"]) if p["random_blocks"] is not None else None,
                                        content_block=p["content_block"], gram_bands=p["gram_bands"], sample_rate=content.sample_rate,
                                        n_fft=content.n_fft, hop_length=content.hop_length,
                                        start_mag=floor_mag)
                for n in nets:  # each channel starts in the decided precision, whatever the last one fell back to
                    n.use_precision(decision.precision)
                label = f"ch {ch + 1}/{content.channels} " if content.channels > 1 else ""

                def progress(i, n, loss, label=label):
                    ctx.progress(i, n, f"{label}loss {loss:.4g}", loss=float(loss))

                z, history = fo.optimise(loss_fn, z0, cfg, progress, variable, torch.log1p(content_mag), on_stall=to_fp32)
                if history["stopped"] == "non_finite":
                    done = history["iteration"][-1]
                    ctx.warn(f"feature_style: {label}iteration {done + 1}'s step left the spectrogram non-finite; the "
                             f"output is iteration {done}'s (lower the style weights, or use precision: fp32)")
                out[ch], phase[ch] = variable.output(z)
                histories.append(history)
        ctx.record("history", histories[0])
        ctx.record("seconds", time.perf_counter() - t0)
        ctx.record("negative_bins_fraction", 0.0)
        ctx.record("device", device)
        ctx.record("precision", decision.precision)
        reason = decision.reason
        stalled = [h["stall_iteration"] for h in histories if h["stall_iteration"] is not None]
        if decision.precision == "bf16" and stalled:
            reason += f"; fp32 from iteration {stalled[0]} on, where bf16's line search found no lower point or a " \
                      "non-finite loss"
        ctx.record("precision_reason", reason)
        return {"spectrogram": Spectrogram(out, content.sample_rate, content.n_fft, content.hop_length, content.win_length,
                                           content.window, content.length, "log1p", phase, content.source,
                                           {"style_source": style.source})}

    def _precision(self, ctx, p: dict, cfg):
        """What precision the networks run in, and why (audiostyle_engine/precision.py decides auto)."""
        from audiostyle_engine.precision import Decision, decide_for_run

        if not (_needs_network(p) or cfg.random_beta > 0):
            return Decision("fp32", p["precision"], "no network runs (the texture statistics or the onset loss alone)")
        return decide_for_run(p["precision"], ctx.device, ctx.cache_dir, ctx.warn, probe="conv")

    @staticmethod
    def _floor_magnitude(cfg, stft_args: tuple, length: int, floor: Spectrogram, ch: int, device):
        """The floor signal's magnitude as the optimiser's variable sees a start (so a floor equal to the start
        holds exactly the start's correlation)."""
        from ._style import feature_opt as fo

        floor_ch = ch if floor.channels > 1 else 0
        variable = fo.Variable(cfg.domain, stft_args, length, floor.phase[floor_ch], device)
        return variable.magnitude(variable.start(_content_signal(floor, floor_ch)))

    @staticmethod
    def _check_start(content: Spectrogram, start: Spectrogram | None, name: str = "start") -> Spectrogram:
        if start is None:
            return content
        if start.phase is None:
            raise ParameterError(f"feature_style's {name} {start.label} needs its phase; set keep_phase: true on its stft")
        if (start.sample_rate, start.n_fft, start.hop_length, start.frames) != \
                (content.sample_rate, content.n_fft, content.hop_length, content.frames):
            raise ParameterError(f"feature_style's {name} {start.label} has {start.frames} frames at {start.sample_rate} "
                                 f"Hz and the content {content.frames} at {content.sample_rate} Hz; make the "
                                 f"{name} from the content (e.g. a morph of it) with the same stft settings")
        if start.channels not in (1, content.channels):
            raise ParameterError(f"feature_style's {name} {start.label} has {start.channels} channels and the content "
                                 f"{content.channels}; give it one channel or as many as the content")
        if start.scale != "log1p":
            raise ParameterError(f"the {name} spectrogram must have scale log1p; set scale: log1p on its stft")
        refuse_silence(start, name, "feature_style")
        return start

    def _check_inputs(self, content: Spectrogram, style: Spectrogram) -> None:
        for name, s in (("content", content), ("style", style)):
            if s.scale != "log1p":
                raise ParameterError(f"{name} spectrogram must have scale log1p; set scale: log1p on its stft")
            if s.frames < 16:
                raise InputFileError(f"{name} {s.label} has {s.frames} frames; feature_style needs at least 16 "
                                     "(about 0.2 s) — use a longer clip")
            refuse_silence(s, name, "feature_style")
        if content.phase is None:
            raise ParameterError(f"feature_style starts from the content's signal and needs its phase; set keep_phase: "
                                 f"true on the stft of {content.label}")
        if (content.sample_rate, content.n_fft, content.hop_length) != (style.sample_rate, style.n_fft, style.hop_length):
            raise ParameterError("content and style spectrograms differ in sample rate, n_fft or hop; use one stft setting")
        if content.n_fft != 2048 or content.hop_length != 512 or content.sample_rate != 44100:
            raise ParameterError("feature_style's pretrained front end expects 44.1 kHz, n_fft 2048, hop 512 (the "
                                 "paper's stft); resample to 44100 Hz and use those stft settings")


def _needs_network(p: dict) -> bool:
    """Whether any weighted term (content, Gram, rhythm, frame statistics) reads the pretrained network's features."""
    return p["alpha"] > 0 or p["beta"] > 0 or p["rhythm_weight"] > 0 or p["frame_weight"] > 0


def _content_signal(content: Spectrogram, channel: int) -> np.ndarray:
    """The signal a spectrogram with phase stands for (the content's, or the start's)."""
    import torch

    from ._spectral import istft

    spec = torch.polar(torch.from_numpy(np.ascontiguousarray(content.linear_magnitude()[channel:channel + 1])),
                       torch.from_numpy(np.ascontiguousarray(content.phase[channel:channel + 1])))
    return istft(spec, content.n_fft, content.hop_length, content.win_length, content.window, content.length)[0].numpy()
