"""Style targets on disk, so a batch or a watch folder with one style pays for its features once.

Keyed by the style spectrogram's bytes and every parameter the target depends on; written atomically
(temp file, then rename), so a crash leaves no half entry and parallel runs at worst compute twice.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .fast import StyleTarget

VERSION = 1  # bump when the stored target's meaning changes


class StyleCache:
    def __init__(self, directory: str | os.PathLike, n_filters: int, seed: int, normalization: str):
        self.directory = Path(directory) / "style_targets"
        self.params = {"n_filters": n_filters, "seed": seed, "normalization": normalization, "version": VERSION}
        self.hits = 0
        self.misses = 0

    def key(self, style: torch.Tensor, layer: int, width: int) -> str:
        digest = hashlib.sha256()
        array = np.ascontiguousarray(style.detach().to("cpu", torch.float32).numpy())
        digest.update(json.dumps({**self.params, "layer": layer, "width": width, "shape": array.shape},
                                 sort_keys=True).encode())
        digest.update(array.tobytes())
        return digest.hexdigest()[:32]

    def get_or_compute(self, style: torch.Tensor, layer: int, width: int, keep_gram: bool, compute) -> StyleTarget:
        path = self.directory / f"{self.key(style, layer, width)}.pt"
        if path.exists():
            try:
                stored = torch.load(path, map_location=style.device, weights_only=True)
                if stored["gram"] is not None or not keep_gram:
                    self.hits += 1
                    return StyleTarget(stored["gram"], stored["factor"], float(stored["gram_sq_norm"]))
            except (OSError, RuntimeError, KeyError, EOFError):
                pass  # unreadable entry: recompute and overwrite it
        self.misses += 1
        target = compute()
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.stem}.{os.getpid()}.partial")
        torch.save({"gram": None if target.gram is None else target.gram.cpu(),
                    "factor": None if target.factor is None else target.factor.cpu(),
                    "gram_sq_norm": target.gram_sq_norm}, temp)
        os.replace(temp, path)
        return target
