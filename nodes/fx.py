"""fx: a chain of pedalboard effects, given by name and parameters."""
from __future__ import annotations

import numpy as np

from audiostyle_engine.payloads import PortKind
from audiostyle_engine.registry import did_you_mean
from audiostyle_engine.spec import Node, NodeSpec, Param, ParamProblem, Port

# pedalboard classes that are containers or need special handling, not effects to name in a chain.
_NOT_EFFECTS = {"Plugin", "PluginContainer", "Chain", "Mix", "Pedalboard", "ExternalPlugin", "VST3Plugin",
                "AudioUnitPlugin", "IIRFilter"}


def builtin_effects() -> dict[str, type]:
    import pedalboard

    return {name: obj for name in dir(pedalboard) if not name.startswith("_")
            for obj in [getattr(pedalboard, name)]
            if isinstance(obj, type) and issubclass(obj, pedalboard.Plugin) and name not in _NOT_EFFECTS}


def effect_params(cls: type) -> list[str]:
    return [n for n in dir(cls) if isinstance(getattr(cls, n, None), property) and n not in ("is_effect", "is_instrument")]


def build_effect(entry: dict):
    """One chain entry {effect: Name, param: value...} → a configured pedalboard plugin.

    Raises ValueError with a user-facing message."""
    effects = builtin_effects()
    name = entry.get("effect")
    cls = effects.get(name)
    if cls is None:
        hint = did_you_mean(str(name), effects)
        raise ValueError(f"unknown effect '{name}'; " + (f"did you mean '{hint}'?" if hint else
                         "pedalboard effects: " + ", ".join(sorted(effects))))
    kwargs = {k: v for k, v in entry.items() if k not in ("effect", "bypass")}
    known = effect_params(cls)
    for k in kwargs:
        if k not in known:
            hint = did_you_mean(k, known)
            raise KeyError(k, f"{name} has no parameter '{k}'; " + (f"did you mean '{hint}'?" if hint else
                           "its parameters: " + ", ".join(known)))
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: {str(exc).strip().splitlines()[0]}") from None


class Fx(Node):
    spec = NodeSpec(
        type_name="fx",
        category="fx",
        summary="Run audio through a chain of pedalboard effects (Compressor, Reverb, Limiter, ...).",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO),),
        params=(
            Param("chain", "list", doc="list of {effect: Name, <param>: value, bypass: false}; "
                  "see 'audiostyle nodes fx' for effect names"),
            Param("tail_seconds", "float", 0.0, "silence appended so reverb and delay tails ring out", min=0.0, max=60.0,
                  unit="s"),
        ),
    )

    @classmethod
    def check_params(cls, params):
        problems = []
        for i, entry in enumerate(params["chain"]):
            if not isinstance(entry, dict) or "effect" not in entry:
                problems.append(ParamProblem("chain", "each chain entry must be a mapping with 'effect: Name'", (i,)))
                continue
            try:
                build_effect(entry)
            except KeyError as exc:
                problems.append(ParamProblem("chain", exc.args[1], (i, exc.args[0]), at_key=True))
            except ValueError as exc:
                problems.append(ParamProblem("chain", str(exc), (i,)))
        return problems

    def process(self, ctx, audio) -> dict:
        import pedalboard

        board = pedalboard.Pedalboard([build_effect(e) for e in self.params["chain"] if not e.get("bypass", False)])
        samples = audio.samples
        tail = int(round(self.params["tail_seconds"] * audio.sample_rate))
        if tail:
            samples = np.pad(samples, ((0, 0), (0, tail)))
        out = board(samples, audio.sample_rate, reset=True)
        return {"audio": audio.with_samples(out)}
