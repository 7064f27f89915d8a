"""Which matmul precision pays on this machine: ``precision: auto`` and the warning for a forced bf16.

bf16 halves the bytes a GEMM moves, but only hardware with bf16 instructions turns that into speed:
CUDA devices with bf16 tensor cores (compute capability 8 and up), and CPUs with AMX-BF16 or AVX-512-BF16.
Elsewhere torch emulates bf16 and a GEMM runs tens of times slower than in fp32 (measured 40x on an
AVX2-only EPYC). On a CPU the flags are necessary but not sufficient — how oneDNN uses them varies with
the torch build — so a small probe decides (a GEMM for the style conv, a convolution for feature_style's
network), once per machine: its result is cached in the cache
directory under the CPU model, flags, thread count and torch version.

This module knows no node: it answers "fp32 or bf16 for this device, and why".
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import settings

# The flags that matter for the choice, as /proc/cpuinfo spells them (recorded by bench/ too).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
PROBE_VERSION = 1  # bump when the probe's shapes or method change


@dataclass(frozen=True)
class Decision:
    precision: str  # what runs: fp32 or bf16
    requested: str  # what the graph asked for: auto, fp32 or bf16
    reason: str  # one sentence, for the run summary, the report and the provenance sidecar
    speedup: float | None = None  # measured fp32 time / bf16 time of the probe (None: not measured)
    probe: str | None = None  # which probe measured it (a key of PROBES)

    def as_dict(self) -> dict:
        return asdict(self)


def cpu_info() -> dict:
    """{"model": ..., "flags": [the CPU_FLAGS present]} from /proc/cpuinfo (Linux); elsewhere the model only."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.processor(), platform.machine()):
                    model = value.strip()
                elif key == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {"model": model, "flags": [f for f in CPU_FLAGS if f in flags]}


def _best_time(run, repeats: int, budget_s: float) -> float:
    """Best of ``repeats`` timings of run(), stopping early once ``budget_s`` is spent."""
    best, spent = float("inf"), 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent > budget_s:
            break
    return best


def _fp32_over_bf16(fp32_run, bf16_run) -> float:
    """fp32 time / bf16 time of one operation, its kernel selection already paid for by the caller.

    bf16 without hardware support takes tens of times the fp32 time, so bf16 is timed once first and
    repeated only if it was not already far slower: a probe stays well under a second either way."""
    fp32 = _best_time(fp32_run, 5, 0.2)
    once = _best_time(bf16_run, 1, 0.0)
    bf16 = once if once > 4 * fp32 else min(once, _best_time(bf16_run, 4, 0.2))
    return fp32 / bf16


def measure_cpu_bf16_speedup() -> float:
    """fp32 time / bf16 time of one GEMM at the style conv's inner shape, shrunk to milliseconds in fp32
    (a bf16 GEMM without hardware support takes ~40x the fp32 time)."""
    import torch

    m, k, n = settings.PRECISION_PROBE_SHAPE
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
    a16, b16 = a.to(torch.bfloat16), b.to(torch.bfloat16)
    a @ b, a16[:8] @ b16  # first calls pay for oneDNN's kernel selection; keep that out of the figures
    return _fp32_over_bf16(lambda: a @ b, lambda: a16 @ b16)


def measure_cpu_conv_bf16_speedup() -> float:
    """fp32 time / bf16 time of one 3×3 convolution's forward and input gradient at the pretrained network's shape
    (feature_style; bf16 channels-last, as the network runs it). oneDNN runs a convolution with other kernels
    than a GEMM, so the GEMM probe does not answer for it. The whole network gains less than this one layer
    (the front end, the first layer's single input channel and the fp32 Grams do not speed up): this probe
    measured 5.7-7.5x where the network's forward and backward gained 2.9x, on a 2-core AMX Xeon."""
    import torch
    import torch.nn.functional as F

    c_in, c_out, frames, mels = settings.PRECISION_CONV_PROBE_SHAPE
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(1, c_in, frames, mels, generator=g), torch.randn(c_out, c_in, 3, 3, generator=g) * 0.05
    x16 = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    w16 = w.to(torch.bfloat16)

    def forward_and_back(inp, weight):
        leaf = inp.detach().requires_grad_(True)
        out = F.conv2d(leaf, weight, padding=1)
        torch.autograd.grad(out, leaf, torch.ones_like(out))

    forward_and_back(x, w), forward_and_back(x16[:, :, :8], w16)  # kernel selection, outside the figures
    return _fp32_over_bf16(lambda: forward_and_back(x, w), lambda: forward_and_back(x16, w16))


# Variables that cap the instruction set oneDNN, MKL or ATen may use: with one set, the same CPU runs
# bf16 at another speed (ONEDNN_MAX_CPU_ISA=AVX2 makes it ~100x slower on an AVX-512-BF16 EPYC).
ISA_LIMIT_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY")


def _probe_key(info: dict, probe: str = "gemm") -> str:
    import torch

    limits = {name: os.environ[name] for name in ISA_LIMIT_VARIABLES if name in os.environ}
    fields = {"cpu": info, "threads": torch.get_num_threads(), "torch": torch.__version__, "isa_limits": limits,
              "shape": settings.PRECISION_PROBE_SHAPE, "version": PROBE_VERSION}
    if probe != "gemm":  # the GEMM probe's keys stay those its cache files already hold
        fields.update(probe=probe, shape=settings.PRECISION_CONV_PROBE_SHAPE)
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cpu_bf16_speedup(cache_dir: Path | None = None, measure=measure_cpu_bf16_speedup, probe: str = "gemm") -> float:
    """The probe's result for this machine, measured once and kept in ``cache_dir`` (default: the user cache).
    ``probe`` names what ``measure`` times ("gemm", or "conv" for cpu_conv_bf16_speedup): each has its own entry."""
    info = cpu_info()
    path = Path(cache_dir or settings.default_cache_dir()) / "precision_probe.json"
    key = _probe_key(info, probe)
    try:
        stored = json.loads(path.read_text())
        if key in stored:
            return float(stored[key]["speedup"])
    except (OSError, ValueError, KeyError, TypeError):
        stored = {}
    speedup = float(measure())
    stored = stored if isinstance(stored, dict) else {}
    stored[key] = {"speedup": speedup, "cpu": info, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:  # the cache is an optimisation: an unwritable folder costs a re-measure next run, nothing more
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        temp.write_text(json.dumps(stored, indent=1))
        os.replace(temp, path)
    except OSError:
        pass
    return speedup


def cpu_conv_bf16_speedup(cache_dir: Path | None = None) -> float:
    """The convolution probe's cached result for this machine (feature_style's network)."""
    return cpu_bf16_speedup(cache_dir, measure_cpu_conv_bf16_speedup, "conv")


# decide()'s probes: name -> (the cached measurement, what its reason calls it)
PROBES = {"gemm": (lambda cache_dir: cpu_bf16_speedup(cache_dir), "GEMM"),
          "conv": (lambda cache_dir: cpu_conv_bf16_speedup(cache_dir), "convolution")}


def cuda_bf16(device: str) -> tuple[bool, str]:
    import torch

    index = torch.device(device).index or 0
    major, minor = torch.cuda.get_device_capability(index)
    name = torch.cuda.get_device_name(index)
    if major >= 8:
        return True, f"CUDA device {name} (compute capability {major}.{minor}) has bf16 tensor cores"
    return False, f"CUDA device {name} (compute capability {major}.{minor}) has no bf16 tensor cores"


def decide(requested: str, device: str, cache_dir: Path | None = None, *, info=None, speedup=None,
           cuda=cuda_bf16, probe: str = "gemm") -> Decision:
    """The precision to run for ``requested`` (auto, fp32, bf16) on ``device``; on a CPU, ``probe`` (a key of
    PROBES) says which operation's measured speed decides: the style conv's GEMM, or a 3×3 convolution.

    ``info``/``speedup``/``cuda`` stand in for cpu_info(), the cached probe and the CUDA check (tests)."""
    if requested == "fp32":
        return Decision("fp32", requested, "fp32 requested (exact)")
    if str(device).startswith("cuda"):
        ok, why = cuda(device)
        if requested == "bf16":
            return Decision("bf16", requested, "bf16 requested" + ("" if ok else f"; {why}, so it may be slower"))
        return Decision("bf16" if ok else "fp32", requested, f"auto: {why}")
    info = cpu_info() if info is None else info
    has = [f for f in BF16_CPU_FLAGS if f in info["flags"]]
    threshold = settings.BF16_MIN_SPEEDUP
    if requested == "auto" and not has:
        return Decision("fp32", requested, f"auto: the CPU ({info['model']}) has neither AMX-BF16 nor AVX-512-BF16, "
                                           "so bf16 would be emulated and slower")
    ratio = speedup() if callable(speedup) else speedup
    cached, what = PROBES[probe]
    ratio = cached(cache_dir) if ratio is None else float(ratio)
    measured = f"a bf16 {what} measured {_times(ratio)}x the speed of fp32 on this CPU ({info['model']}"
    measured += f", {', '.join(has)})" if has else ", no bf16 instructions)"
    if requested == "bf16":
        return Decision("bf16", requested, f"bf16 requested; {measured}", ratio, probe)
    if ratio >= threshold:
        return Decision("bf16", requested, f"auto: {measured}", ratio, probe)
    return Decision("fp32", requested, f"auto: {measured}, below the {threshold:g}x that bf16 needs to pay", ratio,
                    probe)


def _times(ratio: float) -> str:
    # Two decimals hide an emulated bf16 (0.004x would print as 0.00x); below 0.01 one significant digit.
    return f"{ratio:.2f}" if ratio >= 0.01 else f"{ratio:.1g}"


def slow_bf16_warning(decision: Decision) -> str | None:
    """The warning for a forced bf16 that measured slower than fp32 (None when it pays or was not measured)."""
    if decision.requested != "bf16" or decision.speedup is None or decision.speedup >= 1.0:
        return None
    what = PROBES[decision.probe or "gemm"][1]
    return (f"precision: bf16 runs {1 / decision.speedup:.1f}x slower than fp32 on this CPU (probe {what}: bf16 at "
            f"{_times(decision.speedup)}x fp32's speed); use precision: auto (or fp32)")


def validation_device() -> str:
    """The device a run gets without --device: what validation can judge a forced bf16 against."""
    from .device import resolve_device

    return resolve_device("auto")


def decide_for_run(requested: str, device: str, cache_dir: Path | None, warn, probe: str = "gemm") -> Decision:
    """decide() for a node's run; a forced bf16 measured slower is passed to ``warn`` unless validation already
    warned of it, with the graph's line, for this device."""
    decision = decide(requested, device, cache_dir, probe=probe)
    warning = slow_bf16_warning(decision)
    if warning and device != validation_device():
        warn(warning)
    return decision


def forced_bf16_warning(cache_dir: Path | None = None, probe: str = "gemm") -> str | None:
    """At validation: the warning for ``precision: bf16`` if it measures slower on the device a run would get
    (``probe``: which operation's speed decides, as in decide())."""
    return slow_bf16_warning(decide("bf16", validation_device(), cache_dir, probe=probe))


def forced_bf16_problems(requested: str, probe: str = "gemm", cache_dir: Path | None = None) -> list:
    """A node's check_params part for its ``precision`` param: a warning where a forced bf16 measures slower."""
    from .spec import ParamProblem

    warning = forced_bf16_warning(cache_dir, probe) if requested == "bf16" else None
    return [ParamProblem("precision", warning, warning=True)] if warning else []
