"""swapcam studio in a real browser: headless Chromium (the system's package, driven by Playwright)
on the real server. Skips where Playwright or Chromium is missing (.ci/run installs both)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import time

import av
import cv2
import numpy as np
import pytest

from swapcam.realtime.run.config import LIVE_SETTINGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'")
    if CHROMIUM is None:
        pytest.skip("no Chromium here: apt-get install chromium (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, studio):
    """The studio page, loaded and showing the stream; fails the test on any script error."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(studio.url)
    page.wait_for_selector("#preview[data-frame]", timeout=30_000)
    yield page
    page.close()
    assert errors == []


def frame_shown(page) -> int:
    return int(page.get_attribute("#preview", "data-frame"))


def wait_for_frame_past(page, index: int) -> int:
    page.wait_for_function(f"Number(document.querySelector('#preview').dataset.frame) > {index}", timeout=30_000)
    return frame_shown(page)


def test_the_page_shows_a_moving_preview_and_a_control_per_setting(page, studio):
    first = page.locator("#preview").screenshot()
    index = frame_shown(page)
    wait_for_frame_past(page, index + 5)
    assert page.locator("#preview").screenshot() != first
    fields = sum(len(dataclasses.fields(cls)) for cls in LIVE_SETTINGS)
    assert page.locator("#groups .row").count() == fields
    page.wait_for_function("document.querySelector('#m-fps').textContent !== '–'")
    assert float(page.text_content("#m-fps")) > 0
    assert page.text_content("#status") == "streaming"


def test_opacity_zero_on_the_page_makes_the_output_the_camera_frame(page, studio):
    page.locator("#ctl-mask-opacity").fill("0")
    page.wait_for_function("document.querySelector('#num-mask-opacity').value === '0'")
    deadline = time.monotonic() + 10
    while studio.get("/api/state")["settings"]["mask"]["opacity"] != 0.0:
        assert time.monotonic() < deadline, "the page did not send the change"
        time.sleep(0.05)
    index, _ = studio.frame("side")
    camera, output = np.hsplit(studio.frame_after(index + 2).astype(int), 2)
    assert np.abs(camera - output).max() <= 1


def newest_output(studio, after: int | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """(index, camera, output) of the newest frame, or of the first one past ``after``."""
    index, side = studio.frame("side")
    if after is not None and index <= after:
        side = studio.frame_after(after)
        index = after + 1
    camera, output = np.hsplit(side.astype(int), 2)
    return index, camera, output


def test_colour_mode_and_view_change_what_is_shown(page, studio):
    # the test input holds still (motion=0, no expressions): frames differ only by sensor noise
    index, _, colour_matched = newest_output(studio)
    page.select_option("#ctl-color-mode", "none")
    page.wait_for_timeout(300)
    assert studio.get("/api/state")["settings"]["color"]["mode"] == "none"
    index, camera, plain = newest_output(studio, studio.frame("side")[0] + 2)
    _, _, plain_again = newest_output(studio, index)
    face = np.abs(plain - camera).sum(axis=2) > 30
    # medians: the colour moves every face pixel; the landmarks' jitter moves the face's edges only
    changed = np.median(np.abs(plain - colour_matched).sum(axis=2)[face])
    steady = np.median(np.abs(plain_again - plain).sum(axis=2)[face])
    assert changed > 30 and changed > 5 * steady, (changed, steady)

    sizes = {}
    for view in ("output", "aligned", "model", "side"):
        page.click(f"#view-{view}")
        page.wait_for_function(f"document.querySelector('#preview').dataset.view === '{view}'")
        wait_for_frame_past(page, frame_shown(page))
        sizes[view] = page.eval_on_selector("#preview", "img => [img.naturalWidth, img.naturalHeight]")
        assert "active" in page.get_attribute(f"#view-{view}", "class")
    assert sizes == {"output": [320, 240], "aligned": [64, 64], "model": [64, 64], "side": [640, 240]}


def test_record_on_the_page_leaves_a_playable_file(page, studio):
    page.fill("#record-name", "page-take")
    page.click("#record")
    page.wait_for_function("document.querySelector('#record-state').textContent.startsWith('REC')")
    wait_for_frame_past(page, frame_shown(page) + 10)
    page.click("#record")
    page.wait_for_selector("#message:not([hidden])")
    saved = re.match(r"saved page-take\.mp4: (\d+) frames", page.text_content("#message"))
    assert saved and int(saved[1]) >= 5
    with av.open(str(studio.folder / "recordings" / "page-take.mp4")) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == int(saved[1]) and frames[0].shape == (240, 320, 3)
    assert cv2.meanStdDev(frames[-1])[1].mean() > 5  # a picture, not a blank frame


def test_a_bad_value_is_refused_with_a_message_on_the_page(page, studio):
    page.fill("#num-mask-opacity", "3")
    page.press("#num-mask-opacity", "Enter")
    page.wait_for_selector("#message:not([hidden])")
    assert page.text_content("#message") == "--opacity 3.0 is out of range: use a value from 0.0 to 1.0"
    assert page.input_value("#num-mask-opacity") == "1"  # back to the value in force
    assert studio.get("/api/state")["settings"]["mask"]["opacity"] == 1.0


def test_the_page_shows_what_the_frame_budget_sheds(page, studio):
    assert page.text_content("#m-shed") == "nothing"  # the test server starts with --no-shed
    status, body = studio.post("/api/settings", {"budget": {"shed": True}})
    assert status == 200, body
    page.locator("summary", has_text="budget").click()  # a section that restarts the run starts folded
    field = page.locator("#num-budget-budget_ms")
    field.fill("0.5")  # no frame fits half a millisecond: the run restarts and sheds
    field.dispatch_event("change")
    page.wait_for_function("document.querySelector('#m-shed').textContent.startsWith('hand-search')", timeout=60_000)
    shed = studio.get("/api/stats")["shed"]
    assert shed["now"][0] == "hand-search" and shed["frames"]["hand-search"] > 0
    assert "hand-search: " in page.get_attribute("#m-shed", "title")
