"""What a plugin is: where plugins live, and a plain-data description of a loaded one.

``describe`` runs where the plugin is loaded (the plugin worker process); everything it returns
is plain data (dicts, lists, numbers, strings) so it can cross a process boundary and be printed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

PLUGIN_SUFFIXES = (".vst3", ".component")  # VST3 everywhere, Audio Units on macOS


def standard_folders() -> list[Path]:
    """The folders hosts scan for plugins on this platform, plus $VST3_PATH (os.pathsep-separated)."""
    home = Path.home()
    extra = [Path(p) for p in os.environ.get("VST3_PATH", "").split(os.pathsep) if p]
    if sys.platform == "darwin":
        base = [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3"),
                home / "Library/Audio/Plug-Ins/Components", Path("/Library/Audio/Plug-Ins/Components")]
    elif sys.platform == "win32":
        common = Path(os.environ.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files"))
        base = [common / "VST3", Path(os.environ.get("LOCALAPPDATA", home)) / "Programs/Common/VST3"]
    else:
        base = [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3"), Path("/usr/lib64/vst3")]
    return extra + base


def scan_folders(folders: list[Path] | None = None) -> list[Path]:
    """Plugin bundles in ``folders`` (one level deep, as VST3 hosts look), sorted by name; nothing is loaded."""
    found: dict[str, Path] = {}
    for folder in folders if folders is not None else standard_folders():
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.suffix.lower() in PLUGIN_SUFFIXES:
                found.setdefault(str(entry.resolve()), entry)
    return sorted(found.values(), key=lambda p: (p.stem.lower(), str(p)))


def resolve(path_or_name: str) -> Path | None:
    """A plugin given by path, or by bare name ('ZamCompX2') found in the standard folders."""
    path = Path(os.path.expanduser(path_or_name))
    if path.exists():
        return path
    if os.sep in path_or_name or path.suffix.lower() in PLUGIN_SUFFIXES:
        return None
    wanted = path_or_name.lower()
    for candidate in scan_folders():
        if candidate.stem.lower() == wanted:
            return candidate
    return None


def describe(plugin, path: str) -> dict:
    """Everything a graph author needs about a loaded plugin: identity, latency, channel layouts
    it accepts, and each parameter in the plugin's own units."""
    info = {
        "path": str(path),
        "name": str(getattr(plugin, "name", Path(path).stem)),
        "format": "Audio Unit" if str(path).endswith(".component") else "VST3",
        "manufacturer": str(getattr(plugin, "manufacturer_name", "") or ""),
        "category": str(getattr(plugin, "category", "") or ""),
        "version": str(getattr(plugin, "version", "") or ""),
        "identifier": str(getattr(plugin, "identifier", "") or ""),
        "latency_samples": int(getattr(plugin, "reported_latency_samples", 0) or 0),
        "parameters": [describe_parameter(name, par, plugin) for name, par in plugin.parameters.items()],
    }
    info["channels"] = supported_channel_counts(plugin)
    info["binary_sha256"] = binary_hash(path)
    return info


def binary_hash(path: str) -> str:
    """A hash of the plugin's code (the bundle's shared objects, or the file itself), so a provenance
    record tells an updated plugin from the one that made the output."""
    import hashlib

    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".so", ".dylib", ".dll", ".vst3", "")
                   and "Contents" in p.parts) if root.is_dir() else [root]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode() if root.is_dir() else b"")
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16] if files else ""


def describe_parameter(name: str, par, plugin) -> dict:
    """One parameter: kind (float, bool, choice), range, unit, default (its value right after load)."""
    settable = bool(getattr(par, "is_automatable", True))
    current = getattr(plugin, name)
    d = {"name": name, "label": str(par.name), "units": (par.label or "").strip(), "settable": settable,
         "min": None, "max": None, "step": None, "choices": None}
    if par.type is str:
        d["kind"] = "choice"
        d["choices"] = [str(v) for v in (par.valid_values or [])]
        d["default"] = str(current)
        return d
    d["min"], d["max"] = float(par.min_value), float(par.max_value)
    d["step"] = float(par.step_size) if par.step_size else None
    d["default"] = round(float(current), 6)
    if par.is_boolean or (d["min"], d["max"], d["step"]) == (0.0, 1.0, 1.0):
        d["kind"] = "bool"  # an on/off switch; YAML true/false map to 1/0
    elif d["step"] == 1.0 and d["min"].is_integer() and d["max"].is_integer():
        d["kind"] = "int"
    else:
        d["kind"] = "float"
    return d


def supported_channel_counts(plugin, sample_rate: int = 44100) -> list[int]:
    """Mono and/or stereo: found by processing a short silence, since plugins declare buses in ways
    that pedalboard does not expose."""
    ok = []
    for channels in (1, 2):
        try:
            plugin.process(np.zeros((channels, 256), np.float32), sample_rate, reset=True)
            ok.append(channels)
        except Exception:
            pass
    plugin.reset()
    return ok


def builtin_description(name: str, cls) -> dict:
    """A pedalboard built-in effect: its parameters with their defaults (ranges are checked when set)."""
    try:
        instance = cls()
    except Exception:  # effects with a required argument (Convolution's impulse response) have no defaults
        instance = None
    params = []
    for attr in sorted(a for a in dir(cls) if isinstance(getattr(cls, a, None), property)
                       and a not in ("is_effect", "is_instrument")):
        value = getattr(instance, attr, None) if instance is not None else None
        kind = "bool" if isinstance(value, bool) else "float" if isinstance(value, (int, float)) else "other"
        doc = (getattr(cls, attr).__doc__ or "").strip().splitlines()
        params.append({"name": attr, "label": attr, "units": "", "settable": getattr(cls, attr).fset is not None,
                       "kind": kind, "min": None, "max": None, "step": None, "choices": None,
                       "default": value if isinstance(value, (int, float, str, bool)) else str(value),
                       "doc": doc[0] if doc else ""})
    summary = (cls.__doc__ or "").strip().splitlines()
    return {"path": None, "name": name, "format": "pedalboard built-in", "manufacturer": "pedalboard",
            "category": summary[0] if summary else "", "version": "", "identifier": name, "latency_samples": 0,
            "parameters": params, "channels": None}


def format_description(info: dict) -> str:
    """The text `audiostyle plugins inspect` prints."""
    lines = [f"{info['name']}  [{info['format']}]"]
    if info.get("path"):
        lines.append(f"  path:         {info['path']}")
    for key, label in (("manufacturer", "manufacturer"), ("category", "category"), ("version", "version")):
        if info.get(key):
            lines.append(f"  {label + ':':<13} {info[key]}")
    if info.get("channels") is not None:
        layouts = {1: "mono", 2: "stereo"}
        lines.append("  channels:     " + (", ".join(f"{layouts[c]} ({c})" for c in info["channels"]) or "none found"))
    lines.append(f"  latency:      {info['latency_samples']} samples (compensated)")
    settable = [p for p in info["parameters"] if p["settable"]]
    lines.append(f"Parameters ({len(settable)}; set them under 'params:' in the plugin's own units):")
    width = max([len(p["name"]) for p in info["parameters"]] + [10])
    for p in settable:
        lines.append(f"  {p['name']:<{width}}  {_describe_value(p)}")
    readonly = [p for p in info["parameters"] if not p["settable"]]
    if readonly:
        lines.append("Read-only (meters and host-internal values, cannot be set):")
        lines.append("  " + ", ".join(p["name"] for p in readonly))
    return "\n".join(lines)


def _describe_value(p: dict) -> str:
    unit = f" {p['units']}" if p.get("units") else ""
    if p["kind"] == "choice":
        choices = p["choices"] or []
        shown = ", ".join(repr(c) for c in choices[:8]) + (f", ... ({len(choices)} in all)" if len(choices) > 8 else "")
        return f"choice   default {p['default']!r}; one of {shown}"
    if p["kind"] == "bool":
        return f"bool     default {bool(p['default'])}"
    if p["min"] is None:
        return f"{p['kind']:<8} default {p['default']!r}" + (f"  {p['doc']}" if p.get("doc") else "")
    step = f", step {p['step']:g}" if p.get("step") and p["kind"] != "int" else ""
    default = f"{p['default']:g}" if isinstance(p["default"], (int, float)) else repr(p["default"])
    return f"{p['kind']:<8} default {default}{unit}, range [{p['min']:g}, {p['max']:g}]{unit}{step}"
