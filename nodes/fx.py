"""fx: a chain of pedalboard built-in effects and third-party plugins (VST3, Audio Units on macOS).

Plugin files run in a worker process (see _fx/plugin_host) and are checked at validation: the file
loads, parameter names exist, values are in range, the channel count reaching them is one they take.
"""
from __future__ import annotations

from audiostyle_engine import settings
from audiostyle_engine.errors import AudiostyleError, ChainError, ParameterError, PluginError, did_you_mean
from audiostyle_engine.payloads import PortKind
from audiostyle_engine.spec import UNKNOWN, Node, NodeSpec, Param, ParamProblem, Port

from ._fx.chain import Entry, build_effect, check_files, check_params, parse_entry

_LAYOUT = {1: "mono", 2: "stereo"}


class Fx(Node):
    spec = NodeSpec(
        type_name="fx",
        category="fx",
        summary="Run audio through a chain of pedalboard effects and VST3 plugins, tails and latency handled.",
        doc="chain entries: {effect: Compressor, threshold_db: -20} or {plugin: PATH_OR_NAME, params: {name: value}, "
            "preset: FILE.vstpreset, state: FILE, bypass: false, layout: auto|dual_mono}; 'audiostyle plugins inspect "
            "NAME' lists a plugin's parameters.",
        inputs=(Port("audio", PortKind.AUDIO),),
        outputs=(Port("audio", PortKind.AUDIO, "input length plus the effects' tail"),),
        params=(
            Param("chain", "list", doc="effects in order; see the node doc above"),
            Param("tail", "any", "auto", "'auto': render until the output falls silent (at most "
                  f"{settings.TAIL_MAX_SECONDS:g} s); a number: exactly that many seconds after the input"),
            Param("time_limit", "float", settings.PLUGIN_RENDER_TIME_LIMIT, "seconds the plugins may take for one file "
                  "before the run fails", min=1.0, unit="s"),
            Param("measure_loudness", "bool", True, "record integrated LUFS and true peak before and after the chain"),
        ),
    )

    @classmethod
    def check_params(cls, params):
        problems = []
        tail = params["tail"]
        if tail != "auto" and (isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 <= tail <= 600):
            problems.append(ParamProblem("tail", f"tail={tail!r} must be 'auto' or seconds in [0, 600]"))
        for i, raw in enumerate(params["chain"]):
            try:
                entry = parse_entry(i, raw)
            except ChainError as exc:
                problems.append(ParamProblem("chain", str(exc), (i,) + exc.location()))
                continue
            if entry.kind == "effect":
                try:
                    build_effect(entry)
                except ChainError as exc:
                    problems.append(ParamProblem("chain", str(exc), (i,) + exc.location()))
                continue
            info, problem = _describe(entry)
            if problem:
                problems.append(problem)
                continue
            entry_problems = check_params(entry, info) + check_files(entry)
            problems += entry_problems or _try_configure(entry)
        return problems

    @classmethod
    def check_inputs(cls, params, inputs):
        channels = inputs["audio"].channels
        if channels is None:
            return []
        problems = []
        for i, raw in enumerate(params["chain"]):
            entry = parse_entry(i, raw)
            if entry.bypass or entry.kind != "plugin":
                continue
            info, problem = _describe(entry)
            if problem or not info["channels"]:
                continue
            if entry.layout == "dual_mono":
                if 1 not in info["channels"]:
                    problems.append(ParamProblem("chain", f"layout: dual_mono needs a plugin that takes mono; "
                                                 f"{entry.label} does not; remove 'layout'", (i, "layout")))
                continue
            if channels in info["channels"]:
                continue
            takes = " or ".join(f"{_LAYOUT.get(c, c)} ({c} channel{'s' * (c > 1)})" for c in info["channels"])
            origin = f" from {inputs['audio'].origin}" if inputs["audio"].origin else ""
            if info["channels"] == [1]:
                fix = ("add a 'mono' node before this fx node (type: mono), set 'layout: dual_mono' on this entry "
                       "to run one instance per channel, or use the plugin's stereo version")
            else:
                fix = "use a version of the plugin for this channel count, or change the channel count before this fx node"
            problems.append(ParamProblem("chain", f"{entry.label} takes {takes} but receives {channels} "
                                         f"channel{'s' * (channels > 1)}{origin}; {fix}", (i, "plugin")))
        return problems

    @classmethod
    def infer_outputs(cls, params, inputs):
        # Effects keep the channel count and rate; the tail changes the length.
        return {"audio": inputs.get("audio", UNKNOWN).replace(frames=None)}

    @classmethod
    def describe_extra(cls) -> str:
        from ._fx.chain import builtin_effects

        return ("Built-in effects (effect: Name): " + ", ".join(sorted(builtin_effects())) +
                "\nPlugins (plugin: PATH_OR_NAME): 'audiostyle plugins list'; parameters: 'audiostyle plugins inspect NAME'")

    def process(self, ctx, audio) -> dict:
        from ._fx.loudness import measure
        from ._fx.plugin_client import shared_host
        from ._fx.render import render

        entries = [_resolved(parse_entry(i, raw)) for i, raw in enumerate(self.params["chain"])]
        active = [e for e in entries if not e.bypass]
        if self.params["measure_loudness"]:
            before = measure(audio.samples, audio.sample_rate)
        progress = lambda done, total: ctx.progress(done, total, "rendering")  # noqa: E731
        if any(e.kind == "plugin" for e in active):
            try:
                result = shared_host().render([e.to_job() for e in entries], audio.samples, audio.sample_rate,
                                              self.params["tail"], time_limit=self.params["time_limit"], progress=progress)
            except PluginError as exc:
                raise ParameterError(str(exc)) from None
            samples, tail_frames, capped, plugins = (result["samples"], result["tail_frames"], result["tail_capped"],
                                                     result["plugins"])
        else:
            import pedalboard

            try:
                board = pedalboard.Pedalboard([build_effect(e) for e in active])
            except ChainError as exc:
                raise ParameterError(str(exc)) from None
            out = render(board, audio.samples, audio.sample_rate, self.params["tail"], progress=progress)
            samples, tail_frames, capped, plugins = out.samples, out.tail_frames, out.tail_capped, []
        if capped:
            ctx.warn(f"the effects were still sounding after {settings.TAIL_MAX_SECONDS:g} s of tail and were cut; "
                     "set 'tail' to a number of seconds to choose the length")
        ctx.record("plugins", plugins)
        ctx.record("tail_seconds", round(tail_frames / audio.sample_rate, 4))
        result_audio = audio.with_samples(samples)
        if self.params["measure_loudness"]:
            ctx.record("loudness", {"before": before, "after": measure(samples, audio.sample_rate)})
        return {"audio": result_audio}


def _resolved(entry: Entry) -> Entry:
    """A plugin given by bare name ('ZamCompX2') becomes its path in the standard plugin folders."""
    if entry.kind == "plugin":
        from ._fx.plugin_info import resolve

        path = resolve(entry.target)
        if path is None:

            from ._fx.plugin_info import scan_folders

            hint = None if "/" in entry.target else did_you_mean(entry.target, [p.stem for p in scan_folders()])
            raise ParameterError(f"plugin not found: {entry.target}; " + (f"did you mean '{hint}'?" if hint else
                                 "give its path or a name from 'audiostyle plugins list'"))
        entry.target = str(path)
    return entry


def _try_configure(entry: Entry) -> list[ParamProblem]:
    """Apply preset, state and params once in the worker: a value the plugin does not take (a later
    program change overriding it, a preset for another plugin) is found before the run."""
    from ._fx.plugin_client import shared_host

    try:
        shared_host().try_configure(_resolved(entry).to_job())
    except PluginError as exc:
        return [ParamProblem("chain", str(exc), (entry.index,) + (exc.location or ("plugin",)))]
    except AudiostyleError as exc:
        return [ParamProblem("chain", str(exc), (entry.index, "plugin"))]
    return []


def _describe(entry: Entry) -> tuple[dict | None, ParamProblem | None]:
    """The plugin's description from the worker, or the problem that prevents one (at the 'plugin:' line)."""
    from ._fx.plugin_client import shared_host

    where = (entry.index, "plugin")
    try:
        entry = _resolved(entry)
        return shared_host().describe(entry.target, entry.plugin_name), None
    except AudiostyleError as exc:
        return None, ParamProblem("chain", str(exc), where)
