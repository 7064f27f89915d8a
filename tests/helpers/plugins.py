"""Helpers for the plugin-hosting tests: graph files, test plugins that crash or hang, signal measures."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

# Debian's zam-plugins (apt install zam-plugins). AUDIOSTYLE_TEST_VST3_DIR points elsewhere, e.g. at an
# empty folder to check that the plugin tests skip, not fail, on a machine without them.
VST3 = Path(os.environ.get("AUDIOSTYLE_TEST_VST3_DIR", "/usr/lib/vst3"))
COMP_STEREO = VST3 / "ZamCompX2.vst3"  # stereo compressor
SAT_MONO = VST3 / "ZamAutoSat.vst3"  # mono-only saturator
DELAY_MONO = VST3 / "ZamDelay.vst3"  # mono delay with feedback: a tail
LIMITER_STEREO = VST3 / "ZaMaximX2.vst3"  # look-ahead limiter: reports 480 samples of latency

needs_zam_plugins = pytest.mark.skipif(
    not all(p.is_dir() for p in (COMP_STEREO, SAT_MONO, DELAY_MONO, LIMITER_STEREO)),
    reason=f"needs the zam-plugins VST3s in {VST3} (apt install zam-plugins)")


def line_of(path: Path, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def loud_quiet(rng, channels: int = 2, sr: int = 44100, seconds: float = 1.0) -> np.ndarray:
    """Noise alternating 100 ms at 0.5 and 100 ms at 0.05 (20 dB apart), with 10 ms ramps."""
    n = int(sr * seconds)
    t = np.arange(n) / sr
    env = np.where((t % 0.2) < 0.1, 0.5, 0.05)
    ramp = np.hanning(int(0.01 * sr))
    env = np.convolve(env, ramp / ramp.sum(), "same")
    x = (env * rng.standard_normal(n)).astype(np.float32)
    return np.repeat(x[None, :], channels, axis=0)


def level_spread_db(x: np.ndarray, sr: int = 44100) -> float:
    """Level of the loud passages over the quiet ones (of ``loud_quiet``), away from the transitions.
    A compressor's job is to shrink it."""
    phase = (np.arange(x.shape[-1]) / sr) % 0.2
    loud, quiet = (phase > 0.03) & (phase < 0.09), (phase > 0.13) & (phase < 0.19)
    rms = lambda mask: np.sqrt(np.mean(x[..., mask].astype(np.float64) ** 2))  # noqa: E731
    return float(20 * np.log10(rms(loud) / rms(quiet)))


_C_SOURCES = {
    # Dies with a segmentation fault the moment the host opens the bundle's shared object.
    "Crash": "#include <signal.h>\n__attribute__((constructor)) static void f(void) { raise(SIGSEGV); }\n",
    # Never returns from being opened: a plugin that hangs on load.
    "Hang": "#include <unistd.h>\n__attribute__((constructor)) static void f(void) { for (;;) pause(); }\n",
}


def broken_plugin(tmp_path: Path, kind: str) -> Path:
    """A VST3 bundle whose shared object crashes or hangs when loaded; needs a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the crashing test plugin (apt install gcc)")
    bundle = tmp_path / f"{kind}.vst3"
    lib_dir = bundle / "Contents" / "x86_64-linux"
    lib_dir.mkdir(parents=True)
    source = tmp_path / f"{kind}.c"
    source.write_text(_C_SOURCES[kind] + "void *GetPluginFactory(void) { return 0; }\n")
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(lib_dir / f"{kind}.so"), str(source)], check=True)
    return bundle
