"""What the command line needs from the fx node's effects and plugin hosting, as one public surface
(the modules under nodes/_fx/ are the fx node's internals and may change shape)."""
from __future__ import annotations

from pathlib import Path

from audiostyle_engine.errors import AudiostyleError, did_you_mean

from ._fx.chain import Entry, builtin_effects, check_params
from ._fx.plugin_client import shared_host
from ._fx.plugin_info import builtin_description, format_description, resolve, scan_folders, standard_folders

__all__ = ["builtin_effects", "describe", "format_description", "find_plugins", "save_state"]


def describe(name: str) -> dict:
    """Parameters (ranges, units, defaults, valid values) of a pedalboard effect or a plugin, by name or path."""
    effects = builtin_effects()
    if name in effects:
        return builtin_description(name, effects[name])
    return _plugin_description(name)


def _plugin_description(name: str) -> dict:
    path = resolve(name)
    if path is None:
        hint = did_you_mean(name, builtin_effects())
        raise AudiostyleError(f"no plugin or pedalboard effect named {name!r}" + (f"; did you mean '{hint}'?" if hint else
                              "; give a plugin path or run 'audiostyle plugins list'"))
    return shared_host().describe(str(path))


def find_plugins(folders: list[Path] | None = None) -> tuple[list[Path], list[Path]]:
    """(the folders searched: the given ones or the standard plugin folders, the plugin files found there)."""
    folders = list(folders) if folders else standard_folders()
    return folders, scan_folders(folders)


def save_state(name: str, params: dict, preset: str | None, as_preset: bool) -> tuple[dict, bytes]:
    """A plugin configured with ``params`` (after ``preset``), as .vstpreset bytes or its raw state."""
    info = _plugin_description(name)
    entry = Entry(0, "plugin", info["path"], params=params, preset=preset)
    problems = check_params(entry, info)
    if problems:
        raise AudiostyleError("; ".join(p.message for p in problems))
    return info, shared_host().save_state(entry.to_job(), as_preset)
