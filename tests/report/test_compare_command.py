"""`audiostyle compare`: one table and one page for several results of one content and style."""
from __future__ import annotations

import json

import pytest
from tests.helpers.browser import MEDIA_STATE_JS, Browser, chromium_path
from tests.helpers.tiny_runs import content_signal, make_inputs, style_signal, write_wav

from cli import main


@pytest.fixture
def sweep(tmp_path):
    make_inputs(tmp_path)
    results = []
    for w in (0.2, 0.8):
        results.append(str(write_wav(tmp_path / f"blend {w}.wav", (1 - w) * content_signal() + w * style_signal())))
    return tmp_path, results


def test_compare_prints_a_table_and_writes_a_page(sweep, capsys):
    folder, results = sweep
    args = results + ["--content", str(folder / "content.wav"), "--style", str(folder / "style.wav"),
                      "--labels", "mostly content,mostly style", "--report", str(folder / "cmp")]
    assert main(["compare"] + args) == 0
    out = capsys.readouterr().out.splitlines()
    labels = [line.split("  ")[0].strip() for line in out[2:6]]
    assert labels == ["content itself", "style itself", "mostly content", "mostly style"]
    assert out[-1] == f"page {folder / 'cmp' / 'compare.html'}"

    assert out[0].split()[-2:] == ["vs", "layering"]  # the table's last column
    assert "the same mixes with the style placed elsewhere reach" in out[-2]

    assert main(["compare"] + args + ["--json"]) == 0  # the page is rebuilt in place
    printed = json.loads(capsys.readouterr().out)
    rows = printed["rows"]
    assert rows[2]["style_position"] < rows[3]["style_position"]
    assert rows[2]["content_correlation"] > rows[3]["content_correlation"]
    # the results are themselves plain mixes of the content and style, so they sit on the layering curve
    assert "layering_margin" not in rows[0] and all(abs(r["layering_margin"]) < 0.03 for r in rows[2:])
    lo, hi = printed["placebo_margin_range"]
    assert lo <= hi
    data = json.loads((folder / "cmp" / "compare.json").read_text())
    matched = data["quality"]["frontier"]["matched_mixes"]
    assert [m["result"] for m in matched] == ["mostly content", "mostly style"]
    for m, r in zip(matched, rows[2:]):
        assert m["content_correlation"] == pytest.approx(r["content_correlation"], abs=0.004)
    page = (folder / "cmp" / "compare.html").read_text()
    assert page.count("a plain mix at the same content position") == 2

    if chromium_path() is None:
        pytest.skip("needs Debian's chromium (installed by .ci/run)")
    with Browser() as browser:
        browser.open((folder / "cmp" / "compare.html").absolute().as_uri())
        state = browser.evaluate(MEDIA_STATE_JS)
        table = browser.evaluate("[...document.querySelectorAll('table.quality tbody tr')].map(r => r.cells[0].innerText)")
    assert table == ["content itself", "style itself", "mostly content", "mostly style"]
    # the layering plot, spectrograms of content, style, the 2 results and their 2 matched mixes
    assert len(state["images"]) == 7 and all(i["width"] > 0 for i in state["images"])
    assert len(state["audios"]) == 6 and all(a["duration"] > 0.9 for a in state["audios"])


def test_compare_errors_name_the_problem(sweep, capsys):
    folder, results = sweep
    common = ["--content", str(folder / "content.wav"), "--style", str(folder / "style.wav")]
    assert main(["compare", str(folder / "missing.wav")] + common) == 1
    assert f"error: '{folder / 'missing.wav'}' not found" in capsys.readouterr().err
    assert main(["compare"] + results + common + ["--labels", "one"]) == 1
    assert "--labels names 1 results but 2 files were given" in capsys.readouterr().err
