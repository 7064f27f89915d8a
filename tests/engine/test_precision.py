"""precision: auto — the decision from CPU flags, the cached probe and the CUDA check; the forced-bf16 warning."""
from __future__ import annotations

import json
import math

import pytest

from audiostyle_engine import precision
from audiostyle_engine.precision import decide, slow_bf16_warning

AVX2 = {"model": "AMD EPYC (AVX2 only)", "flags": ["avx2"]}
AVX512_BF16 = {"model": "AMD EPYC (Zen 4)", "flags": ["avx2", "avx512f", "avx512_bf16"]}
AMX = {"model": "Intel Xeon (Sapphire Rapids)", "flags": ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]}


def no_probe():
    raise AssertionError("the probe must not run here")


def test_auto_without_bf16_instructions_is_fp32_and_does_not_probe():
    d = decide("auto", "cpu", info=AVX2, speedup=no_probe)
    assert d.precision == "fp32" and d.speedup is None
    assert "neither AMX-BF16 nor AVX-512-BF16" in d.reason and "AVX2 only" in d.reason


@pytest.mark.parametrize("info", [AVX512_BF16, AMX])
def test_auto_with_bf16_instructions_follows_the_probe_both_ways(info):
    fast = decide("auto", "cpu", info=info, speedup=lambda: 3.0)
    assert fast.precision == "bf16" and fast.speedup == 3.0 and "3.00x" in fast.reason
    slow = decide("auto", "cpu", info=info, speedup=lambda: 0.6)
    assert slow.precision == "fp32" and "0.60x" in slow.reason and "below the 1.2x" in slow.reason
    # barely faster is not worth bf16's rounding
    assert decide("auto", "cpu", info=info, speedup=lambda: 1.1).precision == "fp32"


def test_fp32_is_never_probed_and_bf16_is_kept_with_its_warning():
    assert decide("fp32", "cpu", info=AMX, speedup=no_probe).precision == "fp32"
    forced = decide("bf16", "cpu", info=AVX2, speedup=lambda: 0.025)
    assert forced.precision == "bf16"
    warning = slow_bf16_warning(forced)
    assert warning == ("precision: bf16 runs 40.0x slower than fp32 on this CPU (probe GEMM: bf16 at 0.03x fp32's "
                       "speed); use precision: auto (or fp32)")
    assert slow_bf16_warning(decide("bf16", "cpu", info=AMX, speedup=lambda: 5.0)) is None
    emulated = decide("auto", "cpu", info=AVX512_BF16, speedup=lambda: 0.004)  # oneDNN capped at AVX2
    assert "measured 0.004x the speed of fp32" in emulated.reason
    assert slow_bf16_warning(decide("auto", "cpu", info=AVX512_BF16, speedup=lambda: 0.5)) is None


def test_cuda_uses_the_tensor_core_check_not_the_cpu_probe():
    ampere = lambda device: (True, "CUDA device A100 (compute capability 8.0) has bf16 tensor cores")  # noqa: E731
    turing = lambda device: (False, "CUDA device T4 (compute capability 7.5) has no bf16 tensor cores")  # noqa: E731
    d = decide("auto", "cuda", info=AVX2, speedup=no_probe, cuda=ampere)
    assert d.precision == "bf16" and "compute capability 8.0" in d.reason
    assert decide("auto", "cuda:0", info=AVX2, speedup=no_probe, cuda=turing).precision == "fp32"


def test_probe_result_is_cached_per_machine(tmp_path):
    calls = []

    def measure():
        calls.append(1)
        return 0.5

    assert precision.cpu_bf16_speedup(tmp_path, measure) == 0.5
    assert precision.cpu_bf16_speedup(tmp_path, no_probe) == 0.5  # read back, not measured again
    stored = json.loads((tmp_path / "precision_probe.json").read_text())
    (entry,) = stored.values()
    assert entry["speedup"] == 0.5 and entry["cpu"] == precision.cpu_info() and len(calls) == 1


def test_an_instruction_set_limit_is_probed_apart(tmp_path, monkeypatch):
    for name in precision.ISA_LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert precision.cpu_bf16_speedup(tmp_path, lambda: 2.0) == 2.0
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # the same CPU, its bf16 instructions switched off
    assert precision.cpu_bf16_speedup(tmp_path, lambda: 0.01) == 0.01
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert precision.cpu_bf16_speedup(tmp_path, no_probe) == 2.0


def test_the_convolution_probe_is_cached_apart_and_named_in_the_reason(tmp_path):
    assert precision.cpu_bf16_speedup(tmp_path, lambda: 6.0) == 6.0
    assert precision.cpu_bf16_speedup(tmp_path, lambda: 0.5, "conv") == 0.5  # its own entry, measured
    assert precision.cpu_bf16_speedup(tmp_path, no_probe) == 6.0 and precision.cpu_bf16_speedup(tmp_path, no_probe, "conv") == 0.5
    d = decide("auto", "cpu", info=AMX, speedup=lambda: 0.5, probe="conv")
    assert d.precision == "fp32" and "a bf16 convolution measured 0.50x" in d.reason
    forced = slow_bf16_warning(decide("bf16", "cpu", info=AMX, speedup=lambda: 0.5, probe="conv"))
    assert "(probe convolution: bf16 at 0.50x" in forced


def test_the_real_convolution_probe_on_this_machine(tmp_path):
    ratio = precision.cpu_conv_bf16_speedup(tmp_path)
    assert math.isfinite(ratio) and ratio > 0
    assert precision.cpu_conv_bf16_speedup(tmp_path) == ratio  # cached


def test_the_real_probe_on_this_machine(tmp_path):
    """One real measurement: a finite positive ratio, cached, and auto consistent with it."""
    ratio = precision.cpu_bf16_speedup(tmp_path)
    assert math.isfinite(ratio) and ratio > 0
    info = precision.cpu_info()
    assert info["model"] and set(info["flags"]) <= set(precision.CPU_FLAGS)
    d = decide("auto", "cpu", tmp_path)
    has_bf16 = any(f in info["flags"] for f in precision.BF16_CPU_FLAGS)
    expected = "bf16" if has_bf16 and ratio >= precision.settings.BF16_MIN_SPEEDUP else "fp32"
    assert d.precision == expected
