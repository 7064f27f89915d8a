"""Stream audio through an effect chain in blocks, with latency compensation and full tails.

The output is the same whatever the block size: the plugins always get ``buffer_size`` frames per
call from the start of the file (blocks are rounded to a multiple of it), pedalboard drops the
chain's reported latency from the start, and the end is decided from the signal itself (the last
sample above the silence threshold), not from where a block happened to stop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from audiostyle_engine import settings


@dataclass
class Rendered:
    samples: np.ndarray  # [channels, frames]: input length plus the tail
    tail_frames: int
    tail_capped: bool  # the automatic tail was still sounding at the cap


def render(chain, samples: np.ndarray, sample_rate: int, tail="auto", *,
           block_frames: int = settings.PLUGIN_STREAM_BLOCK, buffer_size: int = settings.PLUGIN_BUFFER_SIZE,
           tail_block_frames: int = settings.PLUGIN_TAIL_BLOCK,
           silence_dbfs: float = settings.TAIL_SILENCE_DBFS, silence_seconds: float = settings.TAIL_SILENCE_SECONDS,
           max_tail_seconds: float = settings.TAIL_MAX_SECONDS,
           progress: Callable[[int, int], None] | None = None) -> Rendered:
    """Run ``samples`` through ``chain`` (a pedalboard Pedalboard or plugin) from a reset state.

    ``tail``: "auto" renders until the output stays below ``silence_dbfs`` for ``silence_seconds``
    (at most ``max_tail_seconds``); a number renders exactly that many seconds after the input."""
    channels, frames = samples.shape
    block = max(buffer_size, -(-block_frames // buffer_size) * buffer_size)
    auto = tail == "auto"
    want_tail = int(round((max_tail_seconds if auto else float(tail)) * sample_rate))
    limit = frames + want_tail
    window = int(round(silence_seconds * sample_rate))
    threshold = 10 ** (silence_dbfs / 20)

    chain.reset()
    out: list[np.ndarray] = []
    produced = 0
    for start in range(0, frames, block):
        piece = chain.process(samples[:, start:start + block], sample_rate, buffer_size=buffer_size, reset=False)
        out.append(piece)
        produced += piece.shape[1]
        if progress:
            progress(min(start + block, frames), frames)
    # The tail in smaller blocks (still whole buffers): the end is found within one of them of where the
    # output went quiet, instead of up to a whole input block later. The samples do not depend on it.
    silence = np.zeros((channels, max(buffer_size, -(-min(tail_block_frames, block) // buffer_size) * buffer_size)),
                       np.float32)
    # Feed silence: first to flush the chain's latency (output catches up with input), then the tail.
    went_quiet = False
    while produced < limit:
        piece = chain.process(silence, sample_rate, buffer_size=buffer_size, reset=False)
        out.append(piece)
        produced += piece.shape[1]
        if auto and produced >= frames + window and _quiet_end(out, window, threshold):
            went_quiet = True
            break
    chain.reset()
    if auto:
        # Only the part after the input decides the end; join that (short) part alone to find it.
        tail_pieces = _from_frame(out, frames)
        tail = np.concatenate(tail_pieces, axis=1) if tail_pieces else np.zeros((channels, 0), np.float32)
        end = min(limit, frames + tail_end(tail, 0, threshold))
    else:
        end = limit
    capped = auto and not went_quiet and end > limit - window
    # One copy: join the pieces up to ``end`` (a column slice of the joined array would need a second).
    return Rendered(_join_until(out, end, channels), end - frames, bool(capped))


def _from_frame(pieces: list[np.ndarray], start: int) -> list[np.ndarray]:
    """The pieces from frame ``start`` on (the first one cut at ``start``)."""
    offset, picked = 0, []
    for piece in pieces:
        n = piece.shape[1]
        if offset + n > start:
            picked.append(piece[:, max(0, start - offset):])
        offset += n
    return picked


def _join_until(pieces: list[np.ndarray], end: int, channels: int) -> np.ndarray:
    parts, offset = [], 0
    for piece in pieces:
        if offset >= end:
            break
        n = piece.shape[1]
        parts.append(piece if offset + n <= end else piece[:, :end - offset])
        offset += n
    if not parts:
        return np.zeros((channels, 0), np.float32)
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def tail_end(samples: np.ndarray, input_frames: int, threshold: float) -> int:
    """One past the last frame above ``threshold``, never before the end of the input."""
    loud = np.flatnonzero(np.max(np.abs(samples[:, input_frames:]), axis=0) >= threshold) if samples.shape[1] > input_frames else []
    return input_frames + (int(loud[-1]) + 1 if len(loud) else 0)


def _quiet_end(pieces: list[np.ndarray], window: int, threshold: float) -> bool:
    need, seen = window, []
    for piece in reversed(pieces):
        seen.append(piece[:, -need:])
        need -= seen[-1].shape[1]
        if need <= 0:
            break
    return need <= 0 and all(float(np.max(np.abs(p))) < threshold for p in seen if p.size)


class PerChannel:
    """One mono plugin instance per channel ("dual mono"), each seeing only its own channel."""

    def __init__(self, instances: list):
        self.instances = instances

    def reset(self) -> None:
        for p in self.instances:
            p.reset()

    def process(self, block: np.ndarray, sample_rate, buffer_size: int, reset: bool = False) -> np.ndarray:
        if block.shape[0] != len(self.instances):
            raise ValueError(f"dual_mono entry prepared for {len(self.instances)} channels got {block.shape[0]}")
        # Identical instances hold back the same latency, so the channel outputs stay the same length.
        return np.concatenate([p.process(block[c:c + 1], sample_rate, buffer_size=buffer_size, reset=reset)
                               for c, p in enumerate(self.instances)], axis=0)


class Serial:
    """Stages in series. Each stage after the first is fed whole multiples of ``buffer_size`` (the
    rest waits for the next block), so every plugin sees the same sub-blocks as in one whole-file call."""

    def __init__(self, stages: list, buffer_size: int = settings.PLUGIN_BUFFER_SIZE):
        self.stages = stages
        self.buffer_size = buffer_size
        self._pending: list[np.ndarray | None] = [None] * len(stages)

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()
        self._pending = [None] * len(self.stages)

    def process(self, block: np.ndarray, sample_rate, buffer_size: int, reset: bool = False) -> np.ndarray:
        x = block
        for i, stage in enumerate(self.stages):
            if i:
                if self._pending[i] is not None:
                    x = np.concatenate([self._pending[i], x], axis=1)
                usable = x.shape[1] // buffer_size * buffer_size
                self._pending[i] = x[:, usable:]
                x = x[:, :usable]
            if x.shape[1] == 0:
                return x
            x = stage.process(x, sample_rate, buffer_size=buffer_size, reset=False)
        return x
