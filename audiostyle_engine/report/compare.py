"""Several results of one content and style side by side (e.g. an alpha sweep): one table of quality
numbers, one page with players and spectrograms, the way the paper lays out its comparisons."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..errors import InputFileError
from . import html, quality
from .build import _json_safe, matched_mix_clip
from .page import against_layering_html, quality_note, quality_table
from .plots import plot_frontier
from .folders import staged_dir
from .media import Clip, cards, unique_key, write_clips

COMPARE_PAGE = "compare.html"
COMPARE_JSON = "compare.json"


@dataclass
class Comparison:
    rows: list[quality.QualityRow]  # content itself, style itself, then each result in the given order
    page: Path | None
    layering_margins: list[float | None]  # per row: style position minus the layering curve's (None: trivial rows)
    placebo_range: tuple[float, float]  # the margins of the same mixes with the style placed elsewhere


def _read(path: str):
    from ..audio_io import read_audio  # the same decoder and error messages as the load node

    if not os.path.exists(path):
        raise InputFileError(f"'{path}' not found; check the path")
    if os.path.isdir(path):
        raise InputFileError(f"'{path}' is a folder; expected an audio file")
    return read_audio(str(path))


def compare_files(results: list[str], content: str, style: str, report_dir: str | os.PathLike | None = None,
                  labels: list[str] | None = None) -> Comparison:
    """Measure every result against ``content`` and ``style``; with ``report_dir``, also write a page there."""
    labels = labels or [Path(p).name for p in results]
    content_samples, content_rate = _read(content)
    style_samples, style_rate = _read(style)
    ref = quality.QualityReference.build(content_samples, content_rate, style_samples, style_rate)
    decoded = [(label, *_read(p)) for label, p in zip(labels, results)]
    rows = ref.rows(decoded)
    curve, placebos, result_margins, placebo_range = quality.against_layering(ref, rows)
    margins = [None, None] + result_margins
    if report_dir is None:
        return Comparison(rows, None, margins, placebo_range)

    with staged_dir(report_dir) as stage:
        taken: set[str] = set()
        clips = []
        named = [("content", f"content {Path(content).name}", content, content_samples, content_rate),
                 ("style", f"style {Path(style).name}", style, style_samples, style_rate)]
        named += [("result", label, path, s, r) for (label, s, r), path in zip(decoded, results)]
        for role, label, path, samples, rate in named:
            key = unique_key(f"{role}_{Path(path).stem}", taken)
            taken.add(key)
            clips.append(Clip(key, role, label, samples, rate))
        matched = []
        for (label, samples, rate), row in zip(decoded, rows[2:]):
            found = matched_mix_clip(ref, label, samples, rate, row.content_correlation,
                                     unique_key(f"layering_{label}", taken))
            if found is not None:
                taken.add(found[0].key)
                clips.append(found[0])
                matched.append(found[1])
        entries = write_clips(stage, clips)
        table = [r.as_dict() for r in rows]
        for entry, margin in zip(table[2:], margins[2:]):
            entry["layering_margin"] = margin
        curve_rows, placebo_rows = [r.as_dict() for r in curve], [r.as_dict() for r in placebos]
        frontier_png = "img/frontier.png"
        plot_frontier(curve_rows, table[2:], stage / frontier_png, "against layering", placebos=placebo_rows)
        data = {"audiostyle_compare": 1, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "content": str(content), "style": str(style), "results": [str(p) for p in results],
                "quality": {"method": quality.describe(), "rows": table,
                            "frontier": {"curve": curve_rows, "plot": frontier_png, "placebos": placebo_rows,
                                         "placebo_margin_range": list(placebo_range), "matched_mixes": matched}},
                "audio": entries}
        (stage / COMPARE_JSON).write_text(json.dumps(_json_safe(data), indent=1), encoding="utf-8")
        title = f"audiostyle compare — {len(results)} results"
        body = (f"<h1>{escape(title)}</h1><p class=\"meta\">content <code>{escape(str(content))}</code> · style "
                f"<code>{escape(str(style))}</code> · {escape(data['created_utc'])} · "
                f"<a href=\"{COMPARE_JSON}\">{COMPARE_JSON}</a></p>"
                "<h2>Quality</h2>" + quality_table(data["quality"]["rows"]) + quality_note(data["quality"]["method"])
                + against_layering_html(frontier_png, "results against the layering curve", table[2:], placebo_range,
                                        matched)
                + "<h2>Listen</h2>" + cards(entries))
        (stage / COMPARE_PAGE).write_text(html.page(title, body), encoding="utf-8")
    return Comparison(rows, Path(report_dir) / COMPARE_PAGE, margins, placebo_range)


def format_table(rows: list[quality.QualityRow], margins: list[float | None] | None = None) -> str:
    """The quality table for the terminal; with ``margins``, each result's margin to the layering curve."""
    from ..tables import format_table as table

    margins = margins if margins is not None else [None] * len(rows)
    return table([[r.label, _fmt(r.content_correlation), _fmt(r.style_distance_db, 2), _fmt(r.content_position),
                   _fmt(r.style_position), "" if m is None else f"{m:+.3f}"] for r, m in zip(rows, margins)],
                 ["result", "content corr", "style dist dB", "content pos", "style pos", "vs layering"],
                 right=(1, 2, 3, 4, 5))


def _fmt(value: float, digits: int = 3) -> str:
    import math

    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
