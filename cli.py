"""audiostyle command line: run, validate and inspect node graphs."""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from audiostyle_engine import __version__
from audiostyle_engine.errors import AudiostyleError
from audiostyle_engine.yaml_source import parse_cli_value


def parse_sets(items: list[str]) -> dict:
    variables = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise AudiostyleError(f"--set {item!r} must look like name=value, e.g. --set content=voice.wav")
        variables[name.strip()] = parse_cli_value(value)
    return variables


def cmd_run(args) -> int:
    from audiostyle_engine.progress import JsonProgress, TerminalProgress
    from audiostyle_engine.report import iteration_summaries
    from audiostyle_engine.run import prepare, run_graph

    hooks = []
    if args.log_json:
        hooks.append(JsonProgress())
    elif not args.quiet:
        hooks.append(TerminalProgress())  # silent unless stderr is a terminal
    graph = prepare(args.graph, parse_sets(args.set))
    try:
        result = run_graph(graph, device=args.device, seed=args.seed, hooks=hooks, provenance=not args.no_provenance,
                           cache_dir=_cache_dir(args), report=False if args.no_report else args.report)
    finally:
        for hook in hooks:  # a failed run: end the live bars before the error is printed
            hook.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    summary = {"outputs": [str(p) for p in result.outputs], "seconds": round(result.seconds, 2), "device": result.device,
               "timings": {k: round(v, 3) for k, v in result.timings.items()}, "warnings": result.warnings,
               "report": str(result.report) if result.report else None}
    if result.metrics:
        summary["quality"] = result.metrics["summary"]
    iterations = iteration_summaries(graph, result.records)
    for node_id, st in iterations.items():  # grouped by node type, e.g. "style_transfer": {"styled": {...}}
        summary.setdefault(graph.nodes[node_id].type, {})[node_id] = st
    for node_id, rec in result.records.items():
        if rec.get("loudness"):  # fx chains measure their input and output
            summary.setdefault("loudness", {})[node_id] = rec["loudness"]
    if args.log_json:
        print(json.dumps({"event": "run_done", **summary}, default=str))
    elif not args.quiet:
        for path in result.outputs:
            print(f"wrote {path}")
        for node_id, st in iterations.items():
            stopped = " (converged)" if st.get("stopped") == "converged" else ""
            print(f"{node_id}: loss {st['loss_first']:.4g} → {st['loss_last']:.4g} in {st['iterations']} iterations"
                  f"{stopped} ({st['evaluations']} evaluations)" + "".join(
                      f", {k.replace('_', ' ')} {v:.3f}" for k, v in st.items()
                      if k not in ("iterations", "evaluations", "loss_first", "loss_last", "stopped", "facts")))
            for key, value in st.get("facts", {}).items():  # e.g. the precision that ran and why
                print(f"{node_id}: {key.replace('_', ' ')}: {value}")
        for node_id, loud in summary.get("loudness", {}).items():
            fmt = lambda m: f"{m['integrated_lufs']} LUFS, {m['true_peak_dbtp']} dBTP"  # noqa: E731
            print(f"{node_id}: {fmt(loud['before'])} → {fmt(loud['after'])}")
        if result.report:
            q = result.metrics["summary"]
            if q.get("style_position") is not None:
                print(f"output: content correlation {q['content_correlation']:.3f}, style distance "
                      f"{q['style_distance_db']:.2f} dB (style position {q['style_position']:.2f}: 0 = content, 1 = style)")
            print(f"report {result.report}")
        print(f"done in {result.seconds:.1f} s on {result.device}")
    return 0


def _cache_dir(args):
    from pathlib import Path

    from audiostyle_engine.settings import default_cache_dir

    if args.no_cache:
        return None
    return Path(args.cache_dir) if args.cache_dir else default_cache_dir()


def cmd_validate(args) -> int:
    from audiostyle_engine.report import report_dir_of
    from audiostyle_engine.run import prepare

    graph = prepare(args.graph, parse_sets(args.set))
    report_dir_of(graph)  # a malformed report: setting is an error before any run
    print(f"{args.graph}: ok ({len(graph.order)} nodes: {' → '.join(graph.order)})")
    return 0


def cmd_nodes(args) -> int:
    from audiostyle_engine.run import default_registry

    registry = default_registry()
    if not args.name:
        width = max(len(n) for n in registry.names())
        for cls in registry:
            print(f"{cls.spec.type_name:<{width}}  [{cls.spec.category}] {cls.spec.summary}")
        print("\n'audiostyle nodes NAME' shows a node's ports and params.")
        return 0
    cls = registry.get(args.name)
    if cls is None:
        hint = registry.suggest(args.name)
        raise AudiostyleError(f"unknown node type '{args.name}'" + (f"; did you mean '{hint}'?" if hint else
                              "; run 'audiostyle nodes' for the list"))
    print(describe_node(cls))
    return 0


# --- compare: several results of one content and style side by side ---------------------------------------

def cmd_compare(args) -> int:
    from audiostyle_engine.report.compare import compare_files, format_table

    labels = [label.strip() for label in args.labels.split(",")] if args.labels else None
    if labels and len(labels) != len(args.results):
        raise AudiostyleError(f"--labels names {len(labels)} results but {len(args.results)} files were given; "
                              "give one label per file, comma-separated")
    comparison = compare_files(args.results, args.content, args.style, args.report, labels)
    if args.json:
        rows = [{**r.as_dict(), **({"layering_margin": m} if m is not None else {})}
                for r, m in zip(comparison.rows, comparison.layering_margins)]
        print(json.dumps({"rows": rows, "placebo_margin_range": list(comparison.placebo_range),
                          "page": str(comparison.page) if comparison.page else None}))
        return 0
    print(format_table(comparison.rows, comparison.layering_margins))
    lo, hi = comparison.placebo_range
    print(f"vs layering: style position minus a plain mix's at the same content position (+ beats it); the same "
          f"mixes with the style placed elsewhere reach {lo:+.3f} to {hi:+.3f}, within which a result is level with one")
    if comparison.page:
        print(f"page {comparison.page}")
    else:
        print("(add --report DIR for a page with players and spectrograms)")
    return 0


def add_compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare several results of one content and style",
                       description="Measure each result against the content and the style (content correlation, "
                                   "log-mel style distance at equal loudness) beside the trivial results "
                                   "'content itself' and 'style itself'; with --report, a page to listen and look.")
    p.add_argument("results", nargs="+", metavar="RESULT", help="audio files to compare, e.g. one per alpha")
    p.add_argument("--content", required=True, help="the content file the results were made from")
    p.add_argument("--style", required=True, help="the style file the results were made from")
    p.add_argument("--labels", help="comma-separated names for the results (default: file names)")
    p.add_argument("--report", metavar="DIR", help="write compare.html with players and spectrograms to DIR")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_compare)


def describe_node(cls) -> str:
    s = cls.spec
    lines = [f"{s.type_name}  [{s.category}]", f"  {s.summary}"]
    if s.doc:
        lines.append(f"  {s.doc}")
    lines.append("Inputs:" if s.inputs else "Inputs: none")
    lines += [f"  {p.name:<18} {p.kind.value:<12} {p.doc}" + (" (optional)" if p.optional else "") for p in s.inputs]
    lines.append("Outputs:" if s.outputs else "Outputs: none (a sink)")
    lines += [f"  {p.name:<18} {p.kind.value:<12} {p.doc}" for p in s.outputs]
    lines.append("Params:" if s.params else "Params: none")
    for p in s.params:
        default = "required" if p.required else f"default {p.default!r}"
        rng = p.describe_range()
        unit = f" {p.unit}" if p.unit else ""
        lines.append(f"  {p.name:<18} {p.type:<8} {default}{unit}" + (f", {rng}" if rng else ""))
        if p.doc:
            lines.append(f"  {'':<18} {p.doc}")
    extra = getattr(cls, "describe_extra", None)
    if extra:
        lines.append(extra())
    return "\n".join(lines)


# --- plugins: inspect, list and save the state of effects and VST3 plugins -------------------------

def cmd_plugins(args) -> int:
    return {"inspect": plugins_inspect, "list": plugins_list, "save-state": plugins_save_state}[args.plugins_command](args)


def plugins_inspect(args) -> int:
    from nodes.plugins import describe, format_description

    info = describe(args.plugin)
    print(json.dumps(info, indent=2) if args.json else format_description(info))
    return 0


def plugins_list(args) -> int:
    from pathlib import Path

    from nodes.plugins import builtin_effects, find_plugins

    folders, found = find_plugins([Path(f) for f in args.folder])
    if args.json:
        print(json.dumps({"plugins": [{"name": p.stem, "path": str(p)} for p in found],
                          "builtins": sorted(builtin_effects())}, indent=2))
        return 0
    print(f"Plugins in {', '.join(str(f) for f in folders if f.is_dir()) or 'no plugin folder'}:")
    width = max([len(p.stem) for p in found] + [8])
    for p in found:
        print(f"  {p.stem:<{width}}  {p}")
    if not found:
        print("  none found (VST3 bundles *.vst3; add folders with --folder or $VST3_PATH)")
    print("pedalboard built-in effects (use as 'effect: Name'):")
    print("  " + ", ".join(sorted(builtin_effects())))
    print("'audiostyle plugins inspect NAME' shows a plugin's parameters.")
    return 0


def plugins_save_state(args) -> int:
    from nodes.plugins import save_state

    as_preset = args.out.lower().endswith(".vstpreset")
    info, data = save_state(args.plugin, parse_sets(args.param), args.preset, as_preset)
    temp = f"{args.out}.partial"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, args.out)
    kind = "preset" if as_preset else "state (use it as 'state: FILE' in a chain entry)"
    print(f"wrote {args.out}: {info['name']} {kind}, {len(data)} bytes")
    return 0


def add_plugin_commands(sub) -> None:
    p = sub.add_parser("plugins", help="list, inspect and save the state of effects and plugins",
                       description="Effects and VST3 plugins for 'fx' chains.")
    psub = p.add_subparsers(dest="plugins_command", metavar="SUBCOMMAND", required=True)
    q = psub.add_parser("inspect", help="a plugin's parameters with ranges, units, defaults and valid values")
    q.add_argument("plugin", help="plugin path, plugin name from 'plugins list', or a pedalboard effect name")
    q.add_argument("--json", action="store_true", help="print the description as JSON")
    q = psub.add_parser("list", help="plugins in the standard plugin folders, and pedalboard's effects")
    q.add_argument("--folder", action="append", default=[], help="scan this folder instead (repeatable)")
    q.add_argument("--json", action="store_true", help="print the list as JSON")
    q = psub.add_parser("save-state", help="save a configured plugin as .vstpreset or raw state for 'preset:'/'state:'")
    q.add_argument("plugin", help="plugin path or name")
    q.add_argument("out", help="output file; *.vstpreset writes a VST3 preset, anything else the raw state")
    q.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="parameter in the plugin's units")
    q.add_argument("--preset", help="start from this .vstpreset")
    p.set_defaults(func=cmd_plugins)

# --- batch, watch and status (folder processing with a journal) ------------------------------------
def _folder_job_setup(args, in_dir):
    """The graph checked against the folders first, then the executor (which may start a Ray instance)."""
    from audiostyle_engine.modes.plan import Plan
    from audiostyle_engine.modes.pools import make_executor

    plan = Plan.create(args.graph, in_dir, args.out_dir, bind=args.bind, sets=parse_sets(args.set), fmt=args.format,
                       device=args.device, seed=args.seed, report=not args.no_report)
    return plan, make_executor(args.executor, args.workers, args.address)


def cmd_batch(args) -> int:
    import time

    from audiostyle_engine.modes.coordinator import run_batch, summarize
    from audiostyle_engine.modes.inputs import expand_inputs
    from audiostyle_engine.modes.display import BatchDisplay, summary_table

    display = BatchDisplay(quiet=args.quiet)
    root, files = expand_inputs(args.in_dir, args.files_from, warn=lambda m: display.line(f"warning: {m}"))
    plan, executor = _folder_job_setup(args, root)
    t0 = time.perf_counter()
    try:
        results = run_batch(plan, files, executor, display, retry_failed=args.retry_failed)
    except KeyboardInterrupt:  # running jobs are redone at the next start
        getattr(executor, "abort", executor.shutdown)()
        raise
    finally:
        executor.shutdown()
        display.close()
    summary = summarize(results, time.perf_counter() - t0)
    if args.log_json:
        print(json.dumps({"event": "batch_done", **summary}))
    else:
        print(summary_table(results, summary))
    return 1 if summary["failed"] else 0


def cmd_watch(args) -> int:
    from audiostyle_engine.modes.display import BatchDisplay
    from audiostyle_engine.modes.watch import watch

    plan, executor = _folder_job_setup(args, args.in_dir)
    display = BatchDisplay(quiet=args.quiet)
    try:
        failed = watch(plan, executor, display, settle_seconds=args.settle, polling=args.polling,
                       retry_failed=args.retry_failed)
    except KeyboardInterrupt:
        getattr(executor, "abort", executor.shutdown)()
        raise
    finally:
        executor.shutdown()
        display.close()
    return 0 if not failed or not args.strict else 1


def cmd_status(args) -> int:
    from pathlib import Path

    from audiostyle_engine.modes.display import status_table
    from audiostyle_engine.modes.journal import JOURNAL_NAME, Journal

    if not (Path(args.out_dir) / JOURNAL_NAME).exists():
        raise AudiostyleError(f"{args.out_dir} has no journal ({JOURNAL_NAME}); it is not an output folder of "
                              "'audiostyle batch' or 'audiostyle watch'")
    with Journal(args.out_dir, readonly=True) as journal:
        rows = journal.all()
    if args.failed:
        rows = [r for r in rows if r.status == "failed"]
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=1))
    else:
        print(status_table(rows))
    return 1 if any(r.status == "failed" for r in rows) and args.failed else 0


def add_folder_commands(sub) -> None:
    p = sub.add_parser("batch", help="run a graph over a folder of files",
                       description="Run a graph over every audio file of IN (a folder, or a quoted glob such as "
                       "'stems/**/*.wav'), mirroring it under OUT_DIR. Files already done with the same content and "
                       "graph are skipped; a journal in OUT_DIR makes reruns resume. Exit status 1 when a file failed.")
    p.add_argument("graph", help="YAML graph file")
    p.add_argument("in_dir", metavar="IN", help="input folder or quoted glob")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                   help="set another graph variable, e.g. --set style=drums.wav (repeatable)")
    _folder_options(p)
    p.add_argument("--files-from", metavar="LIST", default=None,
                   help="process only the files listed (one per line, relative to the input folder)")
    p.add_argument("--log-json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("watch", help="process files as they appear in a folder",
                       description="Watch IN_DIR (subfolders too) and run the graph on every new or replaced audio "
                       "file once it is completely written; files already there are caught up first. Ctrl-C or "
                       "SIGTERM stops after the running job(s); a second Ctrl-C aborts them (they are redone next start).")
    p.add_argument("graph", help="YAML graph file")
    p.add_argument("in_dir", metavar="IN_DIR", help="folder to watch")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                   help="set another graph variable, e.g. --set style=drums.wav (repeatable)")
    _folder_options(p)
    p.add_argument("--settle", type=float, default=None,
                   help="seconds a file's size and mtime must stay unchanged before it is processed")
    p.add_argument("--polling", action="store_true", help="poll instead of OS events (network shares)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when any file failed")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("status", help="show the journal of an output folder",
                       description="Print every input recorded in OUT_DIR's journal: status, runs, time, output or reason.")
    p.add_argument("out_dir", help="output folder of a batch or watch run")
    p.add_argument("--failed", action="store_true", help="only failed files (exit status 1 when there are any)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)


def _folder_options(p) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="output folder: mirrors the input folder and holds the journal")
    p.add_argument("--bind", default="content", metavar="NAME",
                   help="graph variable each input file is bound to (default: content); ${out} gets its output path")
    p.add_argument("--format", default=None, help="output format (wav, flac, ...); default: the extension of the "
                   "graph's 'out' variable, else wav")
    p.add_argument("--workers", type=int, default=1, help="jobs in parallel, as processes; CPU threads are split")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local (default) or ray: each file a Ray task (pip install .[ray])")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=None, help="seed for random filters, starts and phases")
    p.add_argument("--retry-failed", action="store_true", help="retry files that failed with the same content and graph")
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument("--no-report", action="store_true",
                   help="skip the per-file HTML reports (OUT_DIR/reports/) and the index page (OUT_DIR/index.html)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiostyle", description="Batch audio processing with YAML node graphs and "
                                     "neural style transfer.")
    parser.add_argument("--version", action="version", version=f"audiostyle {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def graph_args(p):
        p.add_argument("graph", help="YAML graph file")
        p.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                       help="set a graph variable, e.g. --set content=voice.wav (repeatable)")

    p = sub.add_parser("run", help="run a graph", description="Validate a graph, then run it.")
    graph_args(p)
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=None, help="seed for random filters, starts and phases")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--log-json", action="store_true", help="print progress as JSON lines on stdout")
    p.add_argument("--no-provenance", action="store_true", help="write no NAME.provenance.json beside the outputs")
    p.add_argument("--cache-dir", metavar="DIR", default=None, help="keep computed style targets here, so the next "
                   "run with the same style skips them (default: $AUDIOSTYLE_CACHE_DIR or ~/.cache/audiostyle)")
    p.add_argument("--no-cache", action="store_true", help="compute style targets afresh and keep nothing")
    reports = p.add_mutually_exclusive_group()
    reports.add_argument("--report", metavar="DIR", default=None,
                         help="write an HTML report (plots, spectrograms, players, quality numbers, metrics.json) "
                              "to DIR; overrides the graph's report: setting")
    reports.add_argument("--no-report", action="store_true", help="write no report, even if the graph asks for one")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a graph without running it",
                       description="Check a graph completely without touching audio; every problem is listed as file:line:col.")
    graph_args(p)
    p.set_defaults(func=cmd_validate)

    add_compare_parser(sub)

    p = sub.add_parser("nodes", help="list node types, or show one", description="List node types, or show one's ports and params.")
    p.add_argument("name", nargs="?", help="node type to describe")
    p.set_defaults(func=cmd_nodes)
    add_plugin_commands(sub)


    add_folder_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except AudiostyleError as exc:
        if args.debug:
            traceback.print_exc()
        if getattr(args, "log_json", False):
            print(json.dumps({"event": "run_failed", "error": str(exc), "exit_code": exc.exit_code}), flush=True)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; no output was written for the unfinished run", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: not an error of ours. Point stdout at devnull so the
        # interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception:
        traceback.print_exc()
        print("error: internal error (above); please report it with the graph file", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
