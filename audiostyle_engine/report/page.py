"""The report page, rendered from the metrics dictionary alone, so page and metrics.json cannot disagree."""
from __future__ import annotations

from html import escape

from . import html
from .media import cards

PAGE = "report.html"
METRICS = "metrics.json"


QUALITY_HEADERS = ("result", "content correlation ↑", "style distance (dB) ↓", "content position", "style position",
                   "level / spread / change (dB)")


def quality_table(rows: list[dict]) -> str:
    return html.table(QUALITY_HEADERS, [(r["label"], r["content_correlation"], r["style_distance_db"],
                                         r["content_position"], r["style_position"],
                                         " / ".join(html.number(r[k], 1) for k in
                                                    ("style_level_db", "style_spread_db", "style_change_db")))
                                        for r in rows],
                      numeric={1, 2, 3, 4}, css_class="quality")


def quality_note(method: dict) -> str:
    return (f'<p class="note">All signals mono, at the content\'s sample rate and {method["reference_rms_dbfs"]:g} dBFS RMS. '
            f'Content correlation: {escape(method["content_correlation"])}. Style distance: '
            f'{escape(method["style_distance_db"])}; {method["n_mels"]} mel bands; the last column splits it by statistic. Positions: 0 = the far trivial '
            f'output, 1 = the near one (content position: {escape(method["content_position"])}; style position: '
            f'{escape(method["style_position"])}).</p>')


def layering_verdict(margin, placebo_range=None) -> str:
    """Beats, is level with, or does not beat layering: a margin inside the range plain mixes with the style
    placed elsewhere reach is placement luck, not a win (the sign alone was read as one before)."""
    if margin is None:
        return "not measured"
    lo, hi = placebo_range if placebo_range else (0.0, 0.0)
    where = f"style position {margin:+.3f} against the layering curve"
    if placebo_range:
        where += f"; the same mixes with the style placed elsewhere: {lo:+.3f} to {hi:+.3f}"
    if margin > hi:
        return f"beats a plain mix at the same content position ({where})"
    if margin < lo:
        return f"does not beat a plain mix at the same content position ({where})"
    return f"is level with a plain mix at the same content position: within what placement alone moves one ({where})"


def matched_mix_line(matched: dict) -> str:
    """Where to hear a result against the plain mix that keeps the content as well (HTML)."""
    level = (f"{matched['turned_down_db']:.1f} dB quieter than it, so as not to clip."
             if matched.get("turned_down_db") else "at its loudness.")
    return (f"To hear the difference: a <b>layering</b> card under Listen plays the plain mix "
            f"({100 * matched['fraction']:.0f} % style) that keeps the content as well as "
            f"{escape(matched['result'])}, {level}")


def against_layering_html(plot: str, alt: str, results: list[dict], placebo_range, matched: list[dict]) -> str:
    """The layering plot, each result's verdict against it, and where to hear the matched mixes (HTML)."""
    lines = [f"{escape(r['label'])}: {layering_verdict(r.get('layering_margin'), placebo_range)}" for r in results]
    lines += [matched_mix_line(m) for m in matched]
    return "<h3>Against layering</h3>" + html.image(plot, alt) + "<p>" + "<br>".join(lines) + "</p>"


def render(m: dict) -> str:
    g = m["graph"]
    seed = escape(str(m["seed"])) if m["seed"] is not None else "not set (each node's default)"
    parts = [f"<h1>{escape(m['title'])}</h1>",
             f'<p class="meta">{escape(g["description"])}</p>' if g["description"] else "",
             f'<p class="meta">graph <code>{escape(g["file"])}</code> · run {escape(m["created_utc"])} · device '
             f'<b>{escape(str(m["device"]))}</b> · {m["seconds"]:.1f} s · seed {seed} · fingerprint '
             f'<code>{escape(g["fingerprint"])}</code> · <a href="{METRICS}">metrics.json</a></p>']
    parts += [f'<p class="warn">warning: {escape(w)}</p>' for w in m["warnings"]]
    if m["outputs"]:
        parts.append("<p>Wrote: " + ", ".join(f"<code>{escape(p)}</code>" for p in m["outputs"]) + "</p>")

    for node_id, rows in m["quality"]["tables"].items():
        parts.append(f"<h2>Quality — {escape(node_id)}</h2>" + quality_table(rows) + quality_note(m["quality"]["method"]))
        frontier = m["quality"].get("frontiers", {}).get(node_id)
        if frontier:
            parts.append(against_layering_html(frontier["plot"], f"results against the layering curve of {node_id}",
                                               rows[2:], frontier.get("placebo_margin_range"),
                                               [frontier["matched_mix"]] if frontier.get("matched_mix") else []))

    parts.append("<h2>Listen</h2>" + (cards(m["audio"]) if m["audio"] else "<p>No audio signals to show.</p>"))

    for node_id, opt in m["optimisation"].items():
        facts = [("iterations", opt["iterations"]), ("loss evaluations", opt["evaluations"]),
                 ("first loss", opt["loss_first"]), ("last loss", opt["loss_last"]),
                 ("last correlation with content (optimiser)", opt["optimiser_content_correlation"])]
        facts += [(k, v) for k, v in m["records"].get(node_id, {}).items()]
        parts.append(f"<h2>Optimisation — {escape(node_id)}</h2>"
                     + html.image(opt["plots"]["loss"], f"loss per iteration of {node_id}")
                     + html.image(opt["plots"]["correlation"], f"content correlation per iteration of {node_id}")
                     + html.table(("", "value"), facts, numeric={1}))

    other = [(nid, k, v) for nid, rec in m["records"].items() if nid not in m["optimisation"] for k, v in rec.items()]
    if other:
        parts.append("<h2>Node measurements</h2>" + html.table(("node", "measure", "value"), other, numeric={2}))

    total = sum(m["timings"].values()) or 1.0
    parts.append("<h2>Time per node</h2>" + html.image(m["timings_plot"], "time per node")
                 + html.table(("node", "type", "seconds", "share"),
                              [(nid, g["nodes"][nid]["type"], t, f"{100 * t / total:.1f} %") for nid, t in m["timings"].items()],
                              numeric={2}))

    rows = []
    for nid in g["order"]:
        node = g["nodes"][nid]
        params = "<br>".join(f"{escape(k)}: {escape(html.value_text(v))}" for k, v in node["params"].items())
        inputs = "<br>".join(f"{escape(k)} ← {escape(v)}" for k, v in node["inputs"].items())
        rows.append((f"<code>{escape(nid)}</code>", escape(node["type"]), f'<span class="params">{params}</span>', inputs))
    parts.append("<h2>Parameters</h2>" + html.table(("node", "type", "params", "inputs"), rows, raw=True))
    if g["variables"]:
        parts.append("<h3>Variables</h3>" + html.table(("variable", "value"),
                                                       [(k, html.value_text(v)) for k, v in g["variables"].items()]))
    return html.page(m["title"], "\n".join(parts))
