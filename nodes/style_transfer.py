"""style_transfer: the paper's method — content of one spectrogram, texture of another."""
from __future__ import annotations

import time

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.errors import InputFileError, ParameterError
from audiostyle_engine.payloads import PortKind, Spectrogram
from audiostyle_engine.spec import IterationRecord, Node, NodeSpec, Param, ParamProblem, Port, ReportRoles

from ._inputs import refuse_silence


class StyleTransfer(Node):
    spec = NodeSpec(
        type_name="style_transfer",
        category="spectral",
        uses_device=True,
        exclusive_device=True,
        summary="Neural style transfer on log-spectrograms (Choksi et al.): random conv features, Gram style loss, L-BFGS.",
        doc="One convolution over time with the frequency bins as input channels, Glorot-normal filters and ReLU; "
            "L = alpha·content + beta·style, minimised over the input log-magnitude from a small random start. "
            "Output: the styled log1p magnitude, without phase (istft reconstructs it).",
        inputs=(Port("content", PortKind.SPECTROGRAM, "log1p magnitude whose structure is kept"),
                Port("style", PortKind.SPECTROGRAM, "log1p magnitude whose texture is transferred"),
                Port("style_2", PortKind.SPECTROGRAM, "a further style, mixed by style_weights", optional=True),
                Port("style_3", PortKind.SPECTROGRAM, "a further style, mixed by style_weights", optional=True)),
        outputs=(Port("spectrogram", PortKind.SPECTROGRAM, "styled log1p magnitude, same frames as content, no phase"),),
        report=ReportRoles(sources=("content", "style"), makes="styled", iterations=IterationRecord(
            "history", losses=(("loss", "total (α·content + β·style)"), ("content_loss", "content"), ("style_loss", "style")),
            correlation=("content_correlation", "correlation with content"), evaluations="evaluations",
            stopped="stopped", facts=("precision", "precision_reason"))),
        params=(
            Param("n_filters", "int", settings.N_FILTERS, "conv filters (paper: 4096)", min=1, max=65536),
            Param("kernel_width", "int", settings.KERNEL_WIDTH, "conv width in frames (not in the paper; 11 as in the "
                  "open reference implementation)", min=1, max=512, unit="frames"),
            Param("alpha", "float", settings.ALPHA, "content weight (paper: 0.1)", min=0.0),
            Param("beta", "float", settings.BETA, "style weight", min=0.0),
            Param("iterations", "int", settings.ITERATIONS, "L-BFGS iterations (paper: 500)", min=1, max=100000),
            Param("optimizer", "choice", "lbfgs", "lbfgs: torch L-BFGS on the run device; lbfgs-b: scipy L-BFGS-B "
                  "(the paper's, host memory)", choices=("lbfgs", "lbfgs-b")),
            Param("history_size", "int", 10, "L-BFGS memory (scipy's default, which the paper's TensorFlow used)",
                  min=1, max=1000),
            Param("init_scale", "float", settings.INIT_SCALE, "std of the random start", min=0.0),
            Param("gram_normalization", "choice", settings.GRAM_NORMALIZATION,
                  "frames: Gram / number of frames, so content and style may differ in length; none: the paper's plain sum",
                  choices=("frames", "none")),
            Param("lower_bound", "float", None, "lower bound on the log-magnitude (0 keeps magnitudes ≥ 0); lbfgs-b: "
                  "a box bound, lbfgs: optimises z with x = bound + z²", nullable=True),
            Param("domain", "choice", "spectrogram", "spectrogram: optimise the log-magnitude (the paper); waveform: "
                  "optimise the signal through a differentiable STFT (Caracalla & Roebel 2019) — the output carries "
                  "its exact phase, so istft needs no Griffin-Lim", choices=("spectrogram", "waveform")),
            Param("init", "choice", "noise", "noise: start from a small random spectrogram (the paper); content: start "
                  "from the content itself (its signal in the waveform domain; needs the content's phase)",
                  choices=("noise", "content")),
            Param("autocorrelation_weight", "float", 0.0, "weight of a loss on the feature maps' autocorrelation over "
                  "time (Antognini et al. 2019), which keeps the style's rhythm; 0: off (the paper)", min=0.0),
            Param("autocorrelation_seconds", "float", 1.0, "longest lag of the autocorrelation term", min=0.0,
                  unit="s"),
            Param("implementation", "choice", "fast", "fast: hand-written gradient through large GEMMs; plain: torch "
                  "autograd on the formulation as written (same function, slower)", choices=("fast", "plain")),
            Param("precision", "choice", "fp32", "fp32: exact (the paper); bf16: the conv GEMMs in bfloat16 with float32 "
                  "accumulation (loss, Gram, optimiser in float32; fast only); auto: bf16 where this machine runs it "
                  "faster (CUDA bf16 tensor cores, or a CPU with AMX/AVX-512 bf16 that a cached probe GEMM measured "
                  "faster), fp32 elsewhere", choices=("fp32", "bf16", "auto")),
            Param("tolerance", "float", None, "stop when the loss fell by less than this fraction over tolerance_window "
                  "iterations (null: run all iterations, as the paper)", min=0.0, nullable=True),
            Param("tolerance_window", "int", settings.TOLERANCE_WINDOW, "iterations the tolerance looks back", min=1,
                  unit="iterations"),
            Param("extra_kernel_widths", "list", [], "further conv layers of these widths, each with its own random "
                  "filters, summed into the loss (paper: none)"),
            Param("style_weights", "list", None, "weights of style, style_2, style_3 (null: equal)", nullable=True),
            Param("channels", "choice", "per_channel", "per_channel: each content channel styled on its own "
                  "(with the style channel of the same index, or the last); mono_style: every channel with the style's "
                  "channel mean", choices=("per_channel", "mono_style")),
            Param("memory_budget_mb", "float", settings.STYLE_MEMORY_BUDGET_MB, "content needing more is optimised in "
                  "overlapping, crossfaded segments (about 1 GB of it is torch and the style side)", min=1280.0, unit="MB"),
            Param("segment_overlap", "int", settings.SEGMENT_OVERLAP_FRAMES, "frames shared by neighbouring segments",
                  min=1, unit="frames"),
            Param("style_cache", "bool", True, "keep the style's targets in the run's cache directory, if it has one"),
            Param("seed", "int", None, "seed for filters and start (null: the run's --seed, else 0)", nullable=True, min=0),
            Param("min_seconds", "float", settings.MIN_STYLE_TRANSFER_SECONDS, "refuse shorter content or style",
                  min=0.0, unit="s"),
        ),
    )

    @classmethod
    def check_params(cls, params):
        problems = []
        if params["domain"] == "waveform":
            if params["optimizer"] != "lbfgs":
                problems.append(ParamProblem("optimizer", "domain: waveform needs optimizer: lbfgs"))
            if params["lower_bound"] is not None:
                problems.append(ParamProblem("lower_bound", "domain: waveform keeps magnitudes ≥ 0 by construction; "
                                             "remove lower_bound"))
        if params["precision"] == "bf16" and params["implementation"] != "fast":
            problems.append(ParamProblem("precision", "precision: bf16 needs implementation: fast"))
        else:
            from audiostyle_engine.precision import forced_bf16_problems

            problems += forced_bf16_problems(params["precision"])
        widths = params["extra_kernel_widths"]
        if not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 512 for w in widths):
            problems.append(ParamProblem("extra_kernel_widths", f"extra_kernel_widths={widths!r} must be a list of "
                                         "integers in [1, 512]"))
        weights = params["style_weights"]
        if weights is not None and (not weights or len(weights) > 3 or not all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights) or sum(weights) <= 0):
            problems.append(ParamProblem("style_weights", f"style_weights={weights!r} must list 1 to 3 non-negative "
                                         "numbers (for style, style_2, style_3) with a positive sum"))
        return problems

    def process(self, ctx, content: Spectrogram, style: Spectrogram, style_2: Spectrogram | None = None,
                style_3: Spectrogram | None = None) -> dict:
        from ._style.cache import StyleCache
        from ._style.core import StyleConfig, transfer

        p = self.params
        styles = [s for s in (style, style_2, style_3) if s is not None]
        for s in styles:
            self._check_inputs(content, s)
        weights = p["style_weights"]
        if weights is not None and len(weights) != len(styles):
            raise ParameterError(f"style_weights lists {len(weights)} weights for {len(styles)} connected styles; "
                                 "give one weight per style input")
        seed = p["seed"] if p["seed"] is not None else (ctx.seed if ctx.seed is not None else 0)
        decision = self._precision(ctx)
        cfg = StyleConfig(p["n_filters"], p["kernel_width"], p["alpha"], p["beta"], p["iterations"], p["optimizer"],
                          p["history_size"], p["init_scale"], p["gram_normalization"], p["lower_bound"],
                          implementation=p["implementation"], precision=decision.precision, tolerance=p["tolerance"],
                          tolerance_window=p["tolerance_window"], extra_widths=tuple(p["extra_kernel_widths"]),
                          memory_budget_mb=p["memory_budget_mb"], segment_overlap=p["segment_overlap"])
        cache = None
        if p["style_cache"] and ctx.cache_dir is not None and cfg.implementation == "fast":
            cache = StyleCache(ctx.cache_dir, p["n_filters"], seed, p["gram_normalization"])
        out = np.empty_like(content.magnitude)
        phase = None  # known only when the waveform itself was optimised
        histories, processing = [], []
        t0 = time.perf_counter()
        for ch in range(content.channels):
            if p["channels"] == "mono_style":
                style_ch = [np.ascontiguousarray(s.magnitude.mean(axis=0)) for s in styles]
            else:
                style_ch = [np.ascontiguousarray(s.magnitude[min(ch, s.channels - 1)]) for s in styles]
            label = f"ch {ch + 1}/{content.channels} " if content.channels > 1 else ""

            def progress(i, n, loss, label=label):
                ctx.progress(i, n, f"{label}loss {loss:.4g}", loss=float(loss))

            parametrisation = self._parametrisation(content, ch, seed)
            initial = content.magnitude[ch] if p["init"] == "content" and p["domain"] == "spectrogram" else None
            out[ch], history = transfer(np.ascontiguousarray(content.magnitude[ch]), style_ch, cfg,
                                        device=ctx.device, seed=seed, progress=progress, style_weights=weights,
                                        cache=cache, extra_terms=self._terms(content),
                                        parametrisation=parametrisation, initial=initial)
            if p["domain"] == "waveform":
                phase = np.empty_like(content.magnitude) if phase is None else phase
                phase[ch] = parametrisation.phase
            histories.append(history.as_dict())
            processing.append(history.segments)
        ctx.record("history", histories[0])
        ctx.record("channel_histories", histories)
        ctx.record("seconds", time.perf_counter() - t0)
        ctx.record("device", ctx.device)
        ctx.record("precision", cfg.precision)
        ctx.record("precision_reason", decision.reason)
        ctx.record("processing", {"implementation": cfg.implementation, "precision": cfg.precision,
                                  "precision_reason": decision.reason, "channels": processing})
        if cache is not None:
            ctx.record("style_cache", {"hits": cache.hits, "misses": cache.misses, "directory": str(cache.directory)})
        ctx.record("negative_bins_fraction", float(np.mean(out < 0)))
        return {"spectrogram": Spectrogram(out, content.sample_rate, content.n_fft, content.hop_length, content.win_length,
                                           content.window, content.length, content.scale, phase, content.source,
                                           {"style_source": style.source,
                                            "style_sources": [s.source for s in styles]})}

    def _precision(self, ctx):
        """What precision runs, and why (audiostyle_engine/precision.py decides auto on this machine)."""
        from audiostyle_engine.precision import Decision, decide_for_run

        requested = self.params["precision"]
        if self.params["implementation"] == "plain":  # validation refuses plain + bf16
            return Decision("fp32", requested, "implementation: plain runs in fp32")
        return decide_for_run(requested, ctx.device, ctx.cache_dir, ctx.warn)

    def _terms(self, content: Spectrogram) -> list:
        from ._style.terms import build_terms

        p = self.params
        lag = int(round(p["autocorrelation_seconds"] * content.sample_rate / content.hop_length))
        return build_terms(autocorrelation_weight=p["autocorrelation_weight"], autocorrelation_lag=lag)

    def _parametrisation(self, content: Spectrogram, channel: int, seed: int):
        from ._style.params import Bounded, Waveform

        p = self.params
        if p["domain"] == "waveform":
            return Waveform(n_fft=content.n_fft, hop_length=content.hop_length, win_length=content.win_length,
                            window=content.window, length=content.length, init_scale=p["init_scale"], seed=seed,
                            initial_signal=_content_signal(content, channel) if p["init"] == "content" else None)
        if p["lower_bound"] is not None and p["optimizer"] == "lbfgs":
            return Bounded(p["lower_bound"])
        return None

    def _check_inputs(self, content: Spectrogram, style: Spectrogram) -> None:
        p = self.params
        widest = max([p["kernel_width"], *p["extra_kernel_widths"]])
        for name, s in (("content", content), ("style", style)):
            if s.scale != "log1p":
                raise ParameterError(f"{name} spectrogram must have scale log1p (the paper's log(1+|S|)); set scale: log1p on its stft")
            seconds = s.length / s.sample_rate
            if seconds < p["min_seconds"] or s.frames < widest:
                raise InputFileError(f"{name} {s.label} is {seconds:.2f} s long; style transfer needs at least "
                                     f"{max(p['min_seconds'], widest * s.hop_length / s.sample_rate):.2f} s — use a longer clip")
            refuse_silence(s, name, "style transfer")
        if (content.sample_rate, content.n_fft) != (style.sample_rate, style.n_fft):
            raise ParameterError(f"content ({content.sample_rate} Hz, n_fft {content.n_fft}) and style ({style.sample_rate} Hz, "
                                 f"n_fft {style.n_fft}) differ; resample both to one rate and use one stft setting")


def _content_signal(content: Spectrogram, channel: int) -> np.ndarray:
    """The content channel's waveform, rebuilt exactly from its magnitude and phase."""
    import torch

    from ._spectral import istft

    if content.phase is None:
        raise ParameterError(f"init: content in the waveform domain needs the content's phase; set keep_phase: true "
                             f"on the stft of {content.label}")
    spec = torch.polar(torch.from_numpy(np.ascontiguousarray(content.linear_magnitude()[channel:channel + 1])),
                       torch.from_numpy(np.ascontiguousarray(content.phase[channel:channel + 1])))
    return istft(spec, content.n_fft, content.hop_length, content.win_length, content.window, content.length)[0].numpy()
