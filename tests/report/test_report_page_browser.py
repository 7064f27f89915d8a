"""The report page as a browser sees it: every image decoded, every audio player playable."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.helpers.browser import MEDIA_STATE_JS, Browser, chromium_path
from tests.helpers.tiny_runs import tiny_run  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (installed by .ci/run)")


def keep_screenshot(path: Path) -> Path:
    """Screenshots stay in the test's temp folder; AUDIOSTYLE_SCREENSHOTS=DIR also keeps a copy there."""
    target = os.environ.get("AUDIOSTYLE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def assert_png_not_blank(path: Path, min_height: int) -> None:
    import matplotlib.image

    pixels = np.round(matplotlib.image.imread(str(path))[..., :3] * 255).astype(np.uint32)
    assert pixels.shape[0] >= min_height
    colours = np.unique((pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2])
    assert len(colours) > 50  # text, plots and players, not a blank page


def test_report_page_loads_its_images_and_audio(tiny_run, tmp_path):
    page = tiny_run.report_dir / "report.html"
    with Browser() as browser:
        browser.open(page.absolute().as_uri())
        state = browser.evaluate(MEDIA_STATE_JS)
        headings = browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        roles = browser.evaluate("[...document.querySelectorAll('.card')].map(c => c.dataset.role)")
        shot = keep_screenshot(browser.screenshot(tmp_path / "report_page.png"))
    print(f"screenshot: {shot}")
    # 7 spectrograms (content, style, styled, 2 branches, output, the matched plain mix) + loss + correlation
    # + timings + layering curve
    assert len(state["images"]) == 11
    assert "img/frontier_st.png" in [i["src"] for i in state["images"]]
    assert all(img["width"] > 0 and img["height"] > 0 for img in state["images"]), state["images"]
    assert len(state["audios"]) == 7
    for audio in state["audios"]:
        assert audio["error"] is None and audio["duration"] == pytest.approx(1.0, abs=0.02), audio
    assert roles == ["content", "style", "styled", "branch", "branch", "output", "layering"]
    assert headings[:3] == ["Quality — st", "Listen", "Optimisation — st"]
    assert_png_not_blank(shot, 1500)


def test_a_missing_image_is_noticed(tiny_run, tmp_path):
    """The check above can fail: a report with one image removed reports it as not decoded."""
    broken = tmp_path / "broken"
    shutil.copytree(tiny_run.report_dir, broken)
    (broken / "img" / "timings.png").unlink()
    (broken / "audio" / "content_c.wav").write_bytes(b"not audio")
    with Browser() as browser:
        browser.open((broken / "report.html").absolute().as_uri())
        state = browser.evaluate(MEDIA_STATE_JS)
    assert [i["src"] for i in state["images"] if i["width"] == 0] == ["img/timings.png"]
    assert [a["src"] for a in state["audios"] if a["error"] is not None] == ["audio/content_c.wav"]
