"""Resolves the compute device once per run; nodes receive it and never probe CUDA themselves."""
from __future__ import annotations

from contextlib import contextmanager

from .errors import DeviceError


def resolve_device(request: str = "auto") -> str:
    """'auto' → 'cuda' when a CUDA device is usable, else 'cpu'. 'cuda[:N]' must exist."""
    request = (request or "auto").strip().lower()
    if request == "cpu":
        return "cpu"
    import torch  # lazy: graphs without torch nodes never pay for the import

    if request == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if request.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{request}' was requested but no CUDA device is available; use --device cpu or auto")
        index = request.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise DeviceError(f"device '{request}' does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)")
        return request
    raise DeviceError(f"unknown device '{request}'; expected auto, cpu, cuda or cuda:N")


@contextmanager
def exact_fp32_convolutions(device: str):
    """cuDNN runs fp32 convolutions in TF32 by default (10 mantissa bits, like bf16's 7 a rounding the caller did
    not ask for): inside this block they run in IEEE fp32 on ``device``, and the setting is restored after. A no-op
    on the CPU."""
    if not str(device).startswith("cuda"):
        yield
        return
    import torch

    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = before
