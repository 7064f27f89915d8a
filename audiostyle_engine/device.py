"""Resolves the compute device once per run; nodes receive it and never probe CUDA themselves."""
from __future__ import annotations

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
