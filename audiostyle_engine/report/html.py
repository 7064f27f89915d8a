"""Static HTML for report, compare and index pages: inline CSS, no scripts, nothing fetched from the
network; every image and audio file is referenced by a relative path next to the page."""
from __future__ import annotations

import json
import math
from html import escape
from typing import Iterable

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .warn { background: #fff4d6; border-left: 4px solid #e0a800; padding: 6px 10px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left;
vertical-align: top; } th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 14px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px; } .card h3 { font-size: 15px; margin: 0 0 6px; }
.card img, .plot { max-width: 100%; height: auto; display: block; } audio { width: 100%; margin: 4px 0; }
.role { display: inline-block; font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #e8eefc; margin-right: 6px; }
.status-done { color: #157a15; } .status-failed { color: #b00020; } .status-running, .status-queued { color: #8a6d00; }
code, .params { font-family: ui-monospace, monospace; font-size: 12.5px; } .note { color: #666; font-size: 12.5px; }
"""


def page(title: str, body: str, refresh_seconds: float | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">\n' if refresh_seconds else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{escape(title)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def number(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3) else f"{value:.{digits}f}"
    return escape(str(value))


def table(headers: Iterable[str], rows: Iterable[Iterable], numeric: set[int] = frozenset(), raw: bool = False,
          css_class: str = "") -> str:
    """Cells are escaped unless ``raw`` (then the caller built them from escaped parts)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if raw else (number(cell) if i in numeric else escape(str(cell)))
            cells.append(f"<td class=\"num\">{text}</td>" if i in numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{css_class}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def audio_card(title: str, role: str, audio_src: str, image_src: str | None, facts: str) -> str:
    img = f'<img src="{escape(image_src)}" alt="spectrogram of {escape(title)}">' if image_src else ""
    return (f'<div class="card" data-role="{escape(role)}"><h3><span class="role">{escape(role)}</span>{escape(title)}</h3>'
            f'<audio controls preload="metadata" src="{escape(audio_src)}"></audio>{img}'
            f'<div class="note">{facts}</div></div>')


def value_text(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def image(src: str, alt: str) -> str:
    return f'<img class="plot" src="{escape(src)}" alt="{escape(alt)}">'
