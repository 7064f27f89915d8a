"""The index page of a batch or watch OUT_DIR: one row per input with its status, its numbers and a
link to its report. Call ``write_index`` again whenever an entry changes; the page is replaced
atomically, and while anything is queued or running it reloads itself every few seconds."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import quote

from . import html
from .page import METRICS, PAGE
from .folders import write_text_atomic

STATUSES = ("queued", "running", "done", "failed", "skipped")
INDEX_PAGE = "index.html"
INDEX_JSON = "index.json"

# Columns the index shows from each report's summary, in order, with their headings.
SUMMARY_COLUMNS = (("content_correlation", "content corr. ↑"), ("style_distance_db", "style dist. dB ↓"),
                   ("style_position", "style pos."), ("loss_last", "final loss"), ("seconds", "seconds"))


@dataclass
class IndexEntry:
    input: str  # the input file, as the user named it
    status: str = "queued"  # one of STATUSES
    outputs: list[str] = field(default_factory=list)  # files written for this input
    report: str | None = None  # its report folder (or report.html inside it)
    metrics: dict | None = None  # numbers to show; read from the report's metrics.json when None
    message: str = ""  # e.g. the error of a failed run
    seconds: float | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"index entry status {self.status!r} must be one of {STATUSES}")


def report_summary(report: str | os.PathLike) -> dict | None:
    """The ``summary`` of a report's metrics.json (folder or page path); None when there is none yet."""
    path = Path(report)
    metrics = (path.parent if path.suffix == ".html" else path) / METRICS
    try:
        return json.loads(metrics.read_text(encoding="utf-8")).get("summary")
    except (OSError, ValueError):
        return None


def write_index(out_dir: str | os.PathLike, entries: Iterable[IndexEntry | Mapping], *, title: str | None = None,
                refresh_seconds: float = 5.0) -> Path:
    """Write OUT_DIR/index.html and OUT_DIR/index.json listing ``entries``; return the page's path.

    ``entries`` are IndexEntry objects or mappings with the same keys. Paths (outputs, report) may be
    absolute or relative to the current directory; the page links to them relative to OUT_DIR."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [e if isinstance(e, IndexEntry) else IndexEntry(**dict(e)) for e in entries]
    for row in rows:
        if row.metrics is None and row.report:
            row.metrics = report_summary(row.report)
    pending = any(r.status in ("queued", "running") for r in rows)
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    title = title or f"audiostyle — {out_dir.name or out_dir.absolute().name}"
    updated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    table_rows = []
    for r in rows:
        status = f'<span class="status-{r.status}">{r.status}</span>'
        if r.message:
            status += f'<div class="note">{escape(r.message)}</div>'
        outputs = "<br>".join(_link(out_dir, p, Path(p).name) for p in r.outputs)
        report = _link(out_dir, _report_page(r.report), "report") if r.report and r.status == "done" else ""
        numbers = [html.number((r.metrics or {}).get(key)) for key, _ in SUMMARY_COLUMNS]
        if r.seconds is not None and (r.metrics or {}).get("seconds") is None:
            numbers[-1] = html.number(float(r.seconds), 1)
        cells = [f"<code>{escape(r.input)}</code>", status, outputs, report] + numbers
        table_rows.append(cells)
    headers = ["input", "status", "outputs", "report"] + [h for _, h in SUMMARY_COLUMNS]
    numeric = set(range(4, 4 + len(SUMMARY_COLUMNS)))
    summary = " · ".join(f"{n} {s}" for s, n in counts.items() if n)
    body = (f"<h1>{escape(title)}</h1><p class=\"meta\">{len(rows)} inputs: {escape(summary) or 'none yet'} · "
            f"updated {updated}" + (f" · reloads every {int(refresh_seconds)} s while work is pending" if pending else "")
            + "</p>" + html.table(headers, table_rows, numeric=numeric, raw=True, css_class="index")
            + '<p class="note">content corr.: correlation of the output\'s log-spectrogram with the content (1 = the '
              'content itself); style dist.: log-mel statistics distance from the style (0 = the style itself); '
              'style pos.: 0 = as far as the content, 1 = as close as the style. Details in each report.</p>')
    page_path = out_dir / INDEX_PAGE
    write_text_atomic(page_path, html.page(title, body, refresh_seconds if pending else None))
    write_text_atomic(out_dir / INDEX_JSON, json.dumps({"title": title, "updated_utc": updated,
                                                        "entries": [asdict(r) for r in rows]}, indent=1, default=str))
    return page_path


def _report_page(report: str) -> str:
    path = Path(report)
    return str(path if path.suffix == ".html" else path / PAGE)


def _link(out_dir: Path, target: str, text: str) -> str:
    href = os.path.relpath(Path(target).absolute(), out_dir.absolute())
    return f'<a href="{escape(quote(Path(href).as_posix()))}">{escape(text)}</a>'
