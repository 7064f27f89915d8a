"""Checks that the spectral style nodes make of their input clips before any work (torch-free, so that
importing a node stays cheap)."""
from __future__ import annotations

import numpy as np

from audiostyle_engine import settings
from audiostyle_engine.errors import InputFileError


def refuse_silence(spec, name: str, needs: str) -> None:
    """Stop on a silent clip (every bin below SILENCE_DBFS), naming it: a style loss has nothing to match in
    silence, and a correlation with it is 0/0."""
    if float(np.max(spec.magnitude)) < np.log1p(10 ** (settings.SILENCE_DBFS / 20)):
        raise InputFileError(f"{name} {spec.label} is silent; {needs} needs a clip with sound in it")
