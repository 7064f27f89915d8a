"""fx chain entries: parsing, checking against a plugin's real parameters, and building.

An entry is either a pedalboard built-in, ``{effect: Compressor, threshold_db: -20}``, or a plugin
file, ``{plugin: /usr/lib/vst3/ZamCompX2.vst3, params: {ratio: 8}, preset: x.vstpreset, bypass: false}``.
Building happens where the plugin lives (the worker process for plugin files); checking happens
at validation, against the description the plugin gives of itself.
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field

import numpy as np

from audiostyle_engine.errors import ChainError, did_you_mean
from audiostyle_engine.spec import ParamProblem

PLUGIN_KEYS = ("plugin", "plugin_name", "params", "preset", "state", "bypass", "layout")
# auto: the audio goes to the plugin as it is; dual_mono: one instance of a mono plugin per channel.
LAYOUTS = ("auto", "dual_mono")
EFFECT_KEYS = ("effect", "params", "bypass")

# pedalboard classes that are containers or need special handling, not effects to name in a chain.
_NOT_EFFECTS = {"Plugin", "PluginContainer", "Chain", "Mix", "Pedalboard", "ExternalPlugin", "VST3Plugin",
                "AudioUnitPlugin", "IIRFilter"}


@dataclass
class Entry:
    index: int
    kind: str  # "effect" (pedalboard built-in) or "plugin" (a plugin file)
    target: str  # effect name or plugin path
    plugin_name: str | None = None  # for bundles that hold several plugins
    params: dict = field(default_factory=dict)
    params_nested: bool = True  # where params sit in the YAML, for error locations
    preset: str | None = None
    state: str | None = None
    bypass: bool = False
    layout: str = "auto"

    @property
    def label(self) -> str:
        return os.path.basename(self.target) if self.kind == "plugin" else self.target

    def param_location(self, name: str) -> tuple:
        return ("params", name) if self.params_nested else (name,)

    def to_job(self) -> dict:
        """Plain data for the worker process."""
        return {"kind": self.kind, "target": self.target, "plugin_name": self.plugin_name, "params": dict(self.params),
                "preset": self.preset, "state": self.state, "bypass": self.bypass, "layout": self.layout}


def parse_entry(index: int, raw) -> Entry:
    """One YAML chain entry → Entry; raises ChainError on shape problems (not on unknown params)."""
    if not isinstance(raw, dict) or ("effect" in raw) == ("plugin" in raw):
        raise ChainError("each chain entry must be a mapping with either 'effect: Name' (a pedalboard built-in) "
                         "or 'plugin: PATH' (a VST3 file or a name from 'audiostyle plugins list')")
    bypass = raw.get("bypass", False)
    if not isinstance(bypass, bool):
        raise ChainError(f"bypass={bypass!r} must be true or false", "bypass")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ChainError("'params' must map parameter name → value", "params")
    if "effect" in raw:
        flat = {k: v for k, v in raw.items() if k not in EFFECT_KEYS}
        if flat and "params" in raw:
            raise ChainError(f"give the parameters of {raw['effect']} either under 'params:' or beside 'effect:', not both",
                             next(iter(flat)))
        return Entry(index, "effect", str(raw["effect"]), params=flat or params, params_nested=not flat, bypass=bypass)
    for key in raw:
        if key not in PLUGIN_KEYS:
            hint = did_you_mean(key, PLUGIN_KEYS)
            raise ChainError(f"unknown key '{key}' in a plugin entry; " + (f"did you mean '{hint}'?" if hint else
                             "plugin parameters go under 'params:'; entry keys are " + ", ".join(PLUGIN_KEYS)), key)
    for key in ("plugin", "plugin_name", "preset", "state"):
        if key in raw and not (isinstance(raw[key], str) and raw[key]):
            raise ChainError(f"{key} must be a non-empty string", key)
    layout = raw.get("layout", "auto")
    if layout not in LAYOUTS:
        raise ChainError(f"layout={layout!r} must be one of: " + ", ".join(LAYOUTS), "layout")
    return Entry(index, "plugin", raw["plugin"], raw.get("plugin_name"), params, True, raw.get("preset"),
                 raw.get("state"), bypass, layout)


# --- checking against a description (validation time, main process) -------------------------------

def check_params(entry: Entry, info: dict) -> list[ParamProblem]:
    """Every parameter name exists (did-you-mean against the real list) and every value is in range."""
    problems = []
    by_name = {p["name"]: p for p in info["parameters"]}
    settable = [p["name"] for p in info["parameters"] if p["settable"]]
    for name, value in entry.params.items():
        loc = (entry.index,) + entry.param_location(name)
        p = by_name.get(name)
        if p is None:
            hint = did_you_mean(name, settable) or _label_match(name, info["parameters"])
            problems.append(ParamProblem("chain", f"{entry.label} has no parameter '{name}'; " +
                                         (f"did you mean '{hint}'?" if hint else "its parameters: " + ", ".join(settable)), loc))
            continue
        problem = value_problem(p, value)
        if problem:
            problems.append(ParamProblem("chain", f"{entry.label}: {problem}", loc))
    return problems


def _label_match(name: str, params: list[dict]) -> str | None:
    """Users copy the display name ('Threshold'); point them at the identifier ('threshold_db')."""
    for p in params:
        if p["settable"] and p["label"].lower() == str(name).lower():
            return p["name"]
    return None


def value_problem(p: dict, value) -> str | None:
    name, unit = p["name"], (f" {p['units']}" if p.get("units") else "")
    if not p["settable"]:
        return f"parameter '{name}' is read-only (a meter or a host-internal value); remove it"
    kind = p["kind"]
    if kind == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return None
        return f"{name}={value!r} must be true or false"
    if kind == "choice":
        if isinstance(value, str) and value in p["choices"]:
            return None
        hint = did_you_mean(str(value), p["choices"])
        return (f"{name}={value!r} is not one of its values; " + (f"did you mean {hint!r}?" if hint else
                "expected one of " + ", ".join(repr(c) for c in p["choices"][:12])))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{name}={value!r} must be a number in [{p['min']:g}, {p['max']:g}]{unit}"
    if p["min"] is not None and not (p["min"] <= value <= p["max"]):
        return f"{name}={value!r} out of range [{p['min']:g}, {p['max']:g}]{unit}"
    if kind == "int" and not float(value).is_integer():
        return f"{name}={value!r} must be a whole number in [{p['min']:g}, {p['max']:g}]"
    return None


def check_files(entry: Entry) -> list[ParamProblem]:
    problems = []
    for key, suffix in (("preset", ".vstpreset"), ("state", None)):
        path = getattr(entry, key)
        if path is None:
            continue
        if not os.path.isfile(path):
            problems.append(ParamProblem("chain", f"{key} file not found: {path}; check the path", (entry.index, key)))
        elif suffix and not path.lower().endswith(suffix):
            problems.append(ParamProblem("chain", f"preset {path} is not a {suffix} file; save one from the plugin or "
                                         "use 'state:' for a state saved by 'audiostyle plugins save-state'",
                                         (entry.index, key)))
    return problems


# --- building (where the plugin runs) ---------------------------------------------------------------

def builtin_effects() -> dict[str, type]:
    import pedalboard

    return {name: obj for name in dir(pedalboard) if not name.startswith("_")
            for obj in [getattr(pedalboard, name)]
            if isinstance(obj, type) and issubclass(obj, pedalboard.Plugin) and name not in _NOT_EFFECTS}


def effect_params(cls: type) -> list[str]:
    return [n for n in dir(cls) if isinstance(getattr(cls, n, None), property) and n not in ("is_effect", "is_instrument")]


def build_effect(entry: Entry):
    """A configured pedalboard built-in; raises ChainError with a user-facing message."""
    effects = builtin_effects()
    cls = effects.get(entry.target)
    if cls is None:
        hint = did_you_mean(entry.target, effects)
        raise ChainError(f"unknown effect '{entry.target}'; " + (f"did you mean '{hint}'?" if hint else
                         "pedalboard effects: " + ", ".join(sorted(effects))), "effect")
    known = effect_params(cls)
    for k in entry.params:
        if k not in known:
            hint = did_you_mean(k, known)
            raise ChainError(f"{entry.target} has no parameter '{k}'; " + (f"did you mean '{hint}'?" if hint else
                             "its parameters: " + ", ".join(known)), *entry.param_location(k))
    try:
        effect = cls()
    except (ValueError, TypeError):  # needs constructor arguments (Convolution's impulse response)
        try:
            return cls(**entry.params)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise ChainError(f"{entry.target}: {_first_line(exc)}") from None
    for k, v in entry.params.items():  # one at a time, so an error points at its parameter's line
        try:
            setattr(effect, k, v)
        except TypeError:
            expected = {bool: "true or false", int: "a number", float: "a number"}.get(type(getattr(effect, k)), "another type")
            raise ChainError(f"{entry.target}: {k}={v!r} must be {expected}", *entry.param_location(k)) from None
        except (ValueError, RuntimeError) as exc:
            raise ChainError(f"{entry.target}: {k}={v!r}: {_first_line(exc)}", *entry.param_location(k)) from None
    return effect


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def configure_plugin(plugin, entry: Entry, info: dict, pristine_state: bytes | None) -> str:
    """Put a loaded plugin into exactly the state the entry asks for, whatever ran before:
    its just-loaded state, then the preset or saved state, then the parameters. Checks that every
    parameter really applied (some plugins silently ignore values) and returns a hash of the state."""
    if pristine_state is not None:
        plugin.raw_state = pristine_state
    if entry.preset:
        try:
            plugin.load_preset(entry.preset)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ChainError(f"{entry.label} cannot use preset {entry.preset}: {_first_line(exc)}; is it a preset of "
                             "this plugin?", "preset") from None
    if entry.state:
        try:
            with open(entry.state, "rb") as f:
                plugin.raw_state = f.read()
        except (RuntimeError, ValueError, OSError) as exc:
            raise ChainError(f"{entry.label} cannot use state {entry.state}: {_first_line(exc)}; save it from this "
                             "plugin with 'audiostyle plugins save-state'", "state") from None
    by_name = {p["name"]: p for p in info["parameters"]}
    for name, value in entry.params.items():
        p = by_name[name]
        setattr(plugin, name, float(value) if p["kind"] in ("bool", "int") else value)
    # Parameter changes reach a VST3's processor (and its saved state) with the next process call.
    plugin.process(np.zeros((max(info["channels"] or [2]), 64), np.float32), 44100, reset=True)
    for name, value in entry.params.items():
        _check_applied(entry, by_name[name], value, getattr(plugin, name))
    plugin.reset()
    return state_hash(plugin)


def _check_applied(entry: Entry, p: dict, wanted, got) -> None:
    if p["kind"] == "choice":
        ok = str(got) == str(wanted)
    else:
        span = (p["max"] - p["min"]) if p["min"] is not None else 1.0
        tolerance = max(p.get("step") or 0.0, 1e-3 * span, 1e-6)
        ok = abs(float(got) - float(wanted)) <= tolerance
    if not ok:
        raise ChainError(f"{entry.label} did not take {p['name']}={wanted!r}: it reports {got}; a program, preset or "
                         "mode switch set after it may override it (list that one first), or the plugin ignores it",
                         *entry.param_location(p["name"]))


def state_hash(plugin) -> str:
    state = getattr(plugin, "raw_state", None)
    return hashlib.sha256(state).hexdigest()[:16] if state else ""
