"""The OUT_DIR index page of a small batch: one row per input, status, numbers, working links."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from tests.helpers.browser import MEDIA_STATE_JS, Browser, chromium_path
from tests.helpers.tiny_runs import FX_GRAPH, make_inputs

from audiostyle_engine.report import run_with_report
from audiostyle_engine.report.index import IndexEntry, report_summary, write_index
from audiostyle_engine.run import prepare


@pytest.fixture
def small_batch(tmp_path):
    """Two inputs really processed with reports, one failed, one still running."""
    out_dir = tmp_path / "OUT DIR"
    entries = []
    for name in ("first take", "second"):
        folder = tmp_path / name
        make_inputs(folder)
        (folder / "g.yaml").write_text(FX_GRAPH)
        done = run_with_report(prepare(folder / "g.yaml"), out_dir / "reports" / name)
        entries.append(IndexEntry(f"in/{name}.wav", "done", [str(p) for p in done.result.outputs], str(done.report.parent),
                                  seconds=done.result.seconds))
    entries.append(IndexEntry("in/broken.wav", "failed", message="error: 'in/broken.wav' is truncated; re-export it"))
    entries.append({"input": "in/later.wav", "status": "running"})
    return out_dir, entries


def test_index_lists_every_input_with_links_that_resolve(small_batch):
    out_dir, entries = small_batch
    page = write_index(out_dir, entries, title="tonight's batch")
    data = json.loads((out_dir / "index.json").read_text())
    assert [e["status"] for e in data["entries"]] == ["done", "done", "failed", "running"]
    assert data["entries"][0]["metrics"]["seconds"] > 0  # read from the report's metrics.json
    html = page.read_text()
    assert '<meta http-equiv="refresh" content="5">' in html  # something is still running

    if chromium_path() is None:
        pytest.skip("needs Debian's chromium (installed by .ci/run)")
    with Browser() as browser:
        browser.open(page.absolute().as_uri())
        rows = browser.evaluate("[...document.querySelectorAll('table.index tbody tr')]"
                                ".map(r => [...r.cells].map(c => c.innerText.trim()))")
        links = browser.evaluate("[...document.querySelectorAll('a')].map(a => [a.textContent, a.href])")
        browser.screenshot(out_dir.parent / "index.png")
        report_link = next(href for text, href in links if text == "report")
        browser.open(report_link)  # follow it: the report opens with its media
        state = browser.evaluate(MEDIA_STATE_JS)
    assert [r[0] for r in rows] == ["in/first take.wav", "in/second.wav", "in/broken.wav", "in/later.wav"]
    assert [r[1].splitlines()[0] for r in rows] == ["done", "done", "failed", "running"]
    assert "truncated" in rows[2][1]
    assert [text for text, _ in links] == ["fx.wav", "report", "fx.wav", "report"]
    for _, href in links:
        assert Path(unquote(urlparse(href).path)).is_file(), href
    assert state["images"] and all(i["width"] > 0 for i in state["images"])
    assert state["audios"] and all(a["duration"] > 0.9 for a in state["audios"])


def test_index_stops_reloading_when_nothing_is_pending(small_batch):
    out_dir, entries = small_batch
    entries[-1] = IndexEntry("in/later.wav", "skipped", message="not an audio file")
    html = write_index(out_dir, entries).read_text()
    assert "http-equiv=\"refresh\"" not in html
    assert "4 inputs: 2 done · 1 failed · 1 skipped" in html


def test_shown_numbers_come_from_the_entry_or_its_report(tmp_path):
    out_dir = tmp_path / "out"
    page = write_index(out_dir, [IndexEntry("a.wav", "done", metrics={"content_correlation": 0.8123,
                                                                       "style_distance_db": 7.5, "style_position": 0.42})])
    html = page.read_text()
    assert "0.812" in html and "7.500" in html and "0.420" in html
    assert report_summary(tmp_path / "nowhere") is None
    with pytest.raises(ValueError, match="status 'finished'"):
        IndexEntry("a.wav", "finished")
