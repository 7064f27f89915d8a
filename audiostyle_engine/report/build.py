"""One report per run: plots, spectrograms, players, quality numbers, params, timings, metrics.json."""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..executor import ProgressHook, RunResult, execute
from ..graph import Graph
from ..loudness import integrated_loudness
from ..payloads import Audio
from . import quality
from ..errors import ReportError
from .folders import check_report_dir, staged_dir
from .iterations import declared_histories, summary_of
from .media import Clip, unique_key, write_clips
from .page import METRICS, PAGE, render
from .plan import ReportPlan, plan_report
from .plots import plot_correlation, plot_frontier, plot_losses, plot_timings

FORMAT = 1  # metrics.json layout version
MATCHED_MIX_PEAK = 10 ** (-0.1 / 20)  # the matched mix is turned down, not clipped, where it would peak above


@dataclass
class ReportedRun:
    result: RunResult
    report: Path | None  # the report page, when one was written
    metrics: dict | None


def report_dir_of(graph: Graph) -> Path | None:
    """The graph's own ``report:`` setting: a folder path, or a mapping with ``dir:``; false/null for none."""
    value = graph.report
    if value in (None, False):
        return None
    if isinstance(value, dict):
        value = value.get("dir")
    if isinstance(value, str) and value:
        return Path(value)
    raise ReportError(f"{graph.file}: 'report:' must be a folder path (e.g. report: out/report) or "
                      f"{{dir: out/report}}, got {graph.report!r}")


def run_with_report(graph: Graph, report_dir: str | os.PathLike | None = None, *, use_graph_report: bool = True,
                    device: str = "cpu", seed: int | None = None, hooks: list[ProgressHook] | None = None,
                    keep: set[str] | None = None, cache_dir: Path | None = None, title: str | None = None,
                    provenance: bool = True) -> ReportedRun:
    """Run a validated graph and, when ``report_dir`` (or, with ``use_graph_report``, the graph's ``report:``)
    is set, write a report there. ``device`` is a resolved device (see device.resolve_device).

    The report folder is checked before the run so a long run does not end in a refused report."""
    folder = Path(report_dir) if report_dir is not None else (report_dir_of(graph) if use_graph_report else None)
    plan = plan_report(graph) if folder else None
    if folder:
        check_report_dir(folder)
    result = execute(graph, device=device, seed=seed, hooks=hooks, cache_dir=cache_dir,
                     keep=(keep or set()) | (plan.keep if plan else set()), provenance=provenance)
    if not folder:
        return ReportedRun(result, None, None)
    page, metrics = build_report(folder, graph, result, plan, seed=seed, title=title)
    return ReportedRun(result, page, metrics)


def build_report(folder: str | os.PathLike, graph: Graph, result: RunResult, plan: ReportPlan | None = None, *,
                 seed: int | None = None, title: str | None = None) -> tuple[Path, dict]:
    """Write ``folder``/report.html and metrics.json (with audio/ and img/ beside them); return (page, metrics).

    ``result`` must hold the values of ``plan.keep`` (run with ``keep=plan.keep``)."""
    plan = plan or plan_report(graph)
    folder = Path(folder)
    with staged_dir(folder) as stage:
        metrics = _build(stage, graph, result, plan, seed, title)
    return folder / PAGE, metrics


def _audio_of(result: RunResult, node: str, port: str) -> Audio | None:
    value = result.values.get(node, {}).get(port)
    return value if isinstance(value, Audio) else None


def _build(stage: Path, graph: Graph, result: RunResult, plan: ReportPlan, seed, title) -> dict:
    (stage / "img").mkdir()
    clips = []
    for s in plan.signals:
        audio = _audio_of(result, s.node, s.port)
        if audio is not None:
            clips.append(Clip(s.key, s.role, s.label, audio.samples, audio.sample_rate))

    optimisation = {}
    for node_id, (declared, history) in declared_histories(graph, result.records).items():
        loss_png, corr_png = f"img/loss_{node_id}.png", f"img/correlation_{node_id}.png"
        drawn = plot_losses(history, declared, stage / loss_png, f"loss per iteration — {node_id}")
        if declared.correlation:
            drawn.update(plot_correlation(history, declared, stage / corr_png, f"{declared.correlation[1]} — {node_id}"))
        summary = summary_of(declared, history)
        if declared.correlation:
            summary["optimiser_" + declared.correlation[0]] = summary.pop(declared.correlation[0])
        optimisation[node_id] = {"history": history, "plots": {"loss": loss_png, "correlation": corr_png},
                                 "plotted": drawn, **summary}

    quality_tables, frontiers = {}, {}
    for sp in plan.sourced:
        content_signal, style_signal = sp.source("content"), sp.source("style")
        if content_signal is None or style_signal is None:
            continue
        content = _audio_of(result, content_signal.node, content_signal.port)
        style = _audio_of(result, style_signal.node, style_signal.port)
        if content is None or style is None:
            continue
        ref = quality.QualityReference.build(content.samples, content.sample_rate, style.samples, style.sample_rate)
        measured, roles = [], ["content", "style"]
        for s in ([sp.made] if sp.made else []) + plan.by_role("branch") + plan.by_role("output"):
            audio = _audio_of(result, s.node, s.port)
            if audio is not None and s.node not in (content_signal.node, style_signal.node):
                measured.append((s.label, audio.samples, audio.sample_rate))
                roles.append(s.role)
        rows = ref.rows(measured)
        matched = _matched_mix_clip(ref, measured, roles, rows, sp.node, {c.key for c in clips})
        if matched is not None:
            clips.append(matched[0])
        curve, placebos, margins, placebo_range = quality.against_layering(ref, rows)
        table = [{"role": role, **r.as_dict()} for role, r in zip(roles, rows)]
        for entry, margin in zip(table[2:], margins):
            entry["layering_margin"] = margin
        quality_tables[sp.node] = table
        frontier_png = f"img/frontier_{sp.node}.png"
        curve_rows, placebo_rows = [r.as_dict() for r in curve], [r.as_dict() for r in placebos]
        plot_frontier(curve_rows, table[2:], stage / frontier_png, f"against layering — {sp.node}", placebos=placebo_rows)
        frontiers[sp.node] = {"curve": curve_rows, "plot": frontier_png, "placebos": placebo_rows,
                              "placebo_margin_range": list(placebo_range),
                              "matched_mix": matched[1] if matched is not None else None}
    audio_entries = write_clips(stage, clips)

    timings_png = "img/timings.png"
    plot_timings(result.timings, stage / timings_png)

    records = {nid: {k: v for k, v in rec.items() if _is_scalar(v)} for nid, rec in result.records.items()}
    metrics = {
        "audiostyle_report": FORMAT,
        "title": title or f"audiostyle report — {Path(graph.file).name}",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "graph": {"file": str(graph.file), "description": graph.description, "fingerprint": graph.fingerprint,
                  "variables": graph.variables, "order": graph.order,
                  "nodes": {nid: {"type": d.type, "params": d.params,
                                  "inputs": {port: ".".join(p for p in src if p) for port, src in d.inputs.items()}}
                            for nid, d in graph.nodes.items()}},
        "device": result.device, "seed": seed, "seconds": result.seconds,
        "timings": result.timings, "timings_plot": timings_png,
        "outputs": [str(p) for p in result.outputs], "warnings": result.warnings,
        "audio": audio_entries, "optimisation": optimisation, "records": records,
        "quality": {"method": quality.describe(), "tables": quality_tables, "frontiers": frontiers},
    }
    metrics["summary"] = summarise(metrics)
    (stage / METRICS).write_text(json.dumps(_json_safe(metrics), indent=1, default=str), encoding="utf-8")
    (stage / PAGE).write_text(render(metrics), encoding="utf-8")
    return metrics


def _matched_mix_clip(ref: quality.QualityReference, measured: list, roles: list[str], rows: list,
                      node: str, taken: set[str]) -> tuple[Clip, dict] | None:
    """The matched mix of the main result: the last output, else the styled signal."""
    main = next((i for i in reversed(range(len(measured))) if roles[i + 2] == "output"), None)
    if main is None:
        main = next((i for i in range(len(measured)) if roles[i + 2] == "styled"), None)
    if main is None:
        return None
    label, samples, rate = measured[main]
    return matched_mix_clip(ref, label, samples, rate, rows[main + 2].content_correlation,
                            unique_key(f"layering_{node}", taken))


def matched_mix_clip(ref: quality.QualityReference, label: str, samples: np.ndarray, rate: int,
                     content_correlation: float, key: str) -> tuple[Clip, dict] | None:
    """The plain mix that keeps the content as well as a result does, at that result's loudness: what a
    remixer would otherwise do, to hear beside it. None where there is nothing to hear: no mix is that far
    from the content, or the result is the content."""
    found = ref.matched_mix(content_correlation)
    if found is None or found[0] == 0.0:
        return None
    fraction, mixed = found
    mixed = mixed * _loudness_ratio(samples, rate, mixed, ref.sample_rate)
    peak = float(np.max(np.abs(mixed)))
    turned_down_db = max(0.0, float(20 * np.log10(peak / MATCHED_MIX_PEAK))) if peak > 0 else 0.0
    if turned_down_db > 0:  # a player would clip it: a distorted mix is no fair comparison, a quieter one is told
        mixed = mixed * (MATCHED_MIX_PEAK / peak)
    clip = Clip(key, "layering",
                f"plain mix: content + {100 * fraction:.0f} % style, as correlated with the content as {label}",
                mixed[None, :].astype(np.float32), ref.sample_rate)
    return clip, {"fraction": fraction, "content_correlation": quality.content_correlation(
        quality.to_reference(mixed, ref.sample_rate, ref.sample_rate), ref.content), "result": label,
        "result_content_correlation": content_correlation, "audio": f"audio/{clip.key}.wav",
        "turned_down_db": turned_down_db}


def _loudness_ratio(target: np.ndarray, target_rate: int, x: np.ndarray, rate: int) -> float:
    """Gain that gives mono ``x`` the integrated loudness (BS.1770) of ``target`` [channels, frames], so the
    two are heard at one level; RMS where a clip is too short to gate."""
    t = np.asarray(target, dtype=np.float64)
    t = t[None, :] if t.ndim == 1 else t
    want, have = integrated_loudness(t, target_rate), integrated_loudness(x[None, :], rate)
    if np.isfinite(want) and np.isfinite(have):
        return float(10 ** ((want - have) / 20))
    have = float(np.sqrt(np.mean(x ** 2)))
    return float(np.sqrt(np.mean(t.mean(axis=0) ** 2)) / have) if have > 0 else 1.0


def summarise(metrics: dict) -> dict:
    """The few numbers an index row shows: the first style node's loss and the quality of its last
    written output (or, when nothing is written, of the styled signal)."""
    out = {"seconds": metrics["seconds"], "device": metrics["device"]}
    for node_id, opt in metrics["optimisation"].items():
        out.update({"iterations": opt["iterations"], "loss_first": opt["loss_first"], "loss_last": opt["loss_last"]})
        break
    for node_id, rows in metrics["quality"]["tables"].items():
        main = next((r for r in reversed(rows) if r["role"] == "output"), None) or \
            next((r for r in rows if r["role"] == "styled"), None)
        if main:
            out.update({"content_correlation": main["content_correlation"], "style_distance_db": main["style_distance_db"],
                        "style_position": main["style_position"], "content_position": main["content_position"]})
        break
    return out


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _json_safe(value):
    """NaN and infinities are not JSON; they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (np.floating, np.integer)):
        return _json_safe(value.item())
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
