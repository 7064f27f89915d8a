"""The plugin worker process: loads plugins on its main thread (VST3s must be), keeps them loaded for
the next job, restores their just-loaded state before every job, and serves describe / configure /
save-state / render requests from plugin_client.PluginHost over a socket until told to stop."""
from __future__ import annotations

import os
import time
from multiprocessing.connection import Connection

from audiostyle_engine.errors import ChainError


def worker_main(fd: int) -> None:
    """Entry point of the worker: loads plugins on this (main) thread and serves jobs until told to stop."""
    conn = Connection(fd)
    worker = _Worker(conn)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        op, payload = message
        try:
            result = getattr(worker, op)(**payload)
            conn.send(("ok", result))
        except Exception as exc:

            location = exc.location() if isinstance(exc, ChainError) else ()
            text = str(exc).strip().splitlines()
            conn.send(("error", (text[0] if text else type(exc).__name__, location)))


class _Worker:
    def __init__(self, conn):
        self.conn = conn
        self.loaded: dict[tuple, tuple] = {}  # (path, plugin_name) -> (plugin, description, pristine state)

    def _load(self, path: str, plugin_name: str | None, copy: int = 0):
        key = (os.path.realpath(path), plugin_name, copy)  # copy: the same plugin twice in one chain needs two instances
        if key not in self.loaded:
            import numpy as np
            import pedalboard

            from .plugin_info import describe

            try:
                plugin = pedalboard.load_plugin(path, plugin_name=plugin_name)
            except Exception as exc:
                raise RuntimeError(f"cannot load plugin {path}: {_loader_reason(exc)}") from None
            info = describe(plugin, path)
            # The just-loaded state, applied again before every job: no job inherits settings from another.
            plugin.process(np.zeros((max(info["channels"] or [2]), 64), np.float32), 44100, reset=True)
            pristine = getattr(plugin, "raw_state", None)
            self.loaded[key] = (plugin, info, pristine)
        return self.loaded[key]

    def describe(self, path: str, plugin_name: str | None) -> dict:
        return self._load(path, plugin_name)[1]

    def try_configure(self, job: dict) -> str:
        from .chain import Entry, configure_plugin

        entry = Entry(0, **job)
        plugin, info, pristine = self._load(entry.target, entry.plugin_name)
        try:
            return configure_plugin(plugin, entry, info, pristine)
        finally:
            if pristine is not None:
                plugin.raw_state = pristine

    def save_state(self, job: dict, as_preset: bool) -> bytes:
        from .chain import Entry, configure_plugin

        entry = Entry(0, **job)
        plugin, info, pristine = self._load(entry.target, entry.plugin_name)
        configure_plugin(plugin, entry, info, pristine)
        data = plugin.preset_data if as_preset else plugin.raw_state
        plugin.raw_state = pristine
        return bytes(data)

    def render(self, chain: list[dict], samples, sample_rate: int, tail, block_frames: int) -> dict:
        import pedalboard

        from .chain import Entry, build_effect, configure_plugin
        from .render import PerChannel, Serial, render

        stages, plugins, used, seen = [], [], [], {}

        def instance(entry):
            copy = seen[(entry.target, entry.plugin_name)] = seen.get((entry.target, entry.plugin_name), -1) + 1
            plugin, info, pristine = self._load(entry.target, entry.plugin_name, copy)
            return plugin, info, configure_plugin(plugin, entry, info, pristine)

        for i, job in enumerate(chain):
            entry = Entry(i, **job)
            if entry.bypass:
                continue
            if entry.kind == "effect":
                plugins.append(build_effect(entry))
                continue
            if entry.layout == "dual_mono":
                made = [instance(entry) for _ in range(samples.shape[0])]
                if plugins:
                    stages.append(pedalboard.Pedalboard(plugins))
                    plugins = []
                stages.append(PerChannel([plugin for plugin, _, _ in made]))
                plugin, info, state = made[0]
            else:
                plugin, info, state = instance(entry)
                plugins.append(plugin)
            used.append({"path": os.path.realpath(entry.target), "name": info["name"], "version": info["version"],
                         "binary_sha256": info["binary_sha256"], "state_sha256": state, "latency_samples": info["latency_samples"], "layout": entry.layout})
        if plugins or not stages:
            stages.append(pedalboard.Pedalboard(plugins))
        # One pedalboard chain when it can be (pedalboard runs it); stages in series only for dual mono.
        board = stages[0] if len(stages) == 1 else Serial(stages)
        last = [0.0]

        def progress(done, total):
            now = time.monotonic()
            if now - last[0] > 0.5:
                last[0] = now
                self.conn.send(("progress", (done, total)))

        out = render(board, samples, sample_rate, tail, block_frames=block_frames, progress=progress)
        board.reset()
        return {"samples": out.samples, "tail_frames": out.tail_frames, "tail_capped": out.tail_capped, "plugins": used}


def _loader_reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("Failed to load")]
    return lines[-1] if lines else type(exc).__name__

