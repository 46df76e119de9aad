"""Several outputs at once, the auto output, and photos of any size."""

import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.sinks.base import OutputSettings, Stream, letterbox
from swapcam.realtime.sinks.fanout import open_outputs
from swapcam.realtime.sinks.kinds import SINKS, OutputKind, has_display, resolve_output
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.blend import BlendSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.mask import MaskSettings


def test_letterbox_keeps_the_aspect_centres_and_pads_black():
    tall = np.full((300, 100, 3), 200, np.uint8)  # 1:3 into 16:9
    fitted = letterbox(tall, 320, 180)
    assert fitted.shape == (180, 320, 3)
    columns = np.flatnonzero(fitted.max((0, 2)) > 0)
    rows = np.flatnonzero(fitted.max((1, 2)) > 0)
    width, height = columns[-1] - columns[0] + 1, rows[-1] - rows[0] + 1
    assert height == 180 and abs(width / height - 100 / 300) < 0.02  # aspect kept, fills the height
    assert abs(columns[0] - (320 - columns[-1] - 1)) <= 1  # centred
    inside = np.zeros((180, 320), bool)
    inside[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1] = True
    assert (fitted[~inside] == 0).all() and (fitted[inside] == 200).all()  # black borders, picture intact
    wide = letterbox(np.full((10, 400, 3), 90, np.uint8), 320, 180)  # shrunk: bands above and below
    rows = np.flatnonzero(wide.max((1, 2)) > 0)
    assert len(rows) == 8 and abs(rows[0] - (180 - rows[-1] - 1)) <= 1
    same = np.arange(180 * 320 * 3, dtype=np.uint8).reshape(180, 320, 3)
    assert np.array_equal(letterbox(same, 320, 180), same)


def photo(size, seed):
    """A synthetic photo of ``size`` (w, h) and its face landmarks."""
    frame = SyntheticVideo(SyntheticSettings(size=f"{size[0]}x{size[1]}", seed=seed, motion=0.0)).frame(0)
    return frame.image, frame.landmarks


def test_photos_of_any_size_are_each_swapped_and_written_at_their_own_size(tmp_path, inverting_model_path):
    photos, out, video = tmp_path / "photos", tmp_path / "swapped", tmp_path / "photos.mp4"
    photos.mkdir()
    sizes = {"a.png": (640, 360), "b.png": (360, 480), "c.jpg": (500, 500)}
    originals = {}
    for seed, (name, size) in enumerate(sizes.items()):
        image, landmarks = photo(size, seed)
        cv2.imwrite(str(photos / name), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
        originals[name] = (cv2.imread(str(photos / name)), landmarks)
    report = run_live(
        LiveRun(
            input=f"images:{photos}",
            model=inverting_model_path,
            output=[f"images:{out}", f"file:{video}"],
            config=LiveConfig(
                color=ColorSettings(mode="none"),
                blend=BlendSettings(mode="alpha"),
                mask=MaskSettings(keep_mouth=0.0, keep_eyes=0.0),
            ),
        ),
        log=lambda line: None,
    )
    assert report["frames"] == 3 and report["frames_swapped"] == 3 and "bad_frame" not in report["faults"]
    assert sorted(p.name for p in out.iterdir()) == sorted(sizes)
    for name, (width, height) in sizes.items():
        swapped = cv2.imread(str(out / name))
        assert swapped.shape == (height, width, 3), name
        original, landmarks = originals[name]
        # the inverting model: around the nose tip the face is the photo's negative
        cx, cy = landmarks[1].astype(int)
        patch = (slice(cy - 6, cy + 6), slice(cx - 6, cx + 6))
        before, after = original[patch].reshape(-1, 3).mean(0), swapped[patch].reshape(-1, 3).mean(0)
        assert np.abs(after - (255 - before)).max() < 25 and np.abs(after - before).max() > 30, name
        # away from the face (top corners) the photo is as it was, give or take the JPEG
        corner = (slice(0, 20), slice(width - 40, width))
        assert np.abs(swapped[corner].astype(int) - original[corner].astype(int)).mean() < 3, name
        assert (swapped[height - 30 :, :200] > 200).all(2).sum() > 20, name  # the label, in the photo itself
    # the video holds every photo letterboxed into the first one's size
    from test_recording import decoded

    frames, _ = decoded(video)
    assert len(frames) == 3 and all(f.shape == (360, 640, 3) for f in frames)
    portrait = frames[1]  # b.png, 360x480 into 640x360: black bands left and right
    assert portrait[:, :150].max() < 20 and portrait[:, -150:].max() < 20 and portrait[:, 250:390].mean() > 30


def test_an_output_folder_that_is_the_input_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="is the input folder"):
        resolve_output(f"images:{tmp_path}", Stream(64, 48, 30.0, source=tmp_path), OutputSettings())
    with pytest.raises(UserError, match="given twice"):
        open_outputs(
            [f"file:{tmp_path}/a.mp4", "null", f"file:{tmp_path}/a.mp4"], Stream(64, 48, 30.0), OutputSettings(), print
        )
    assert not (tmp_path / "a.mp4").exists()  # refused before anything opened


class SlowSink:
    """A real sink's timing without the device: each write takes ``seconds``; records what it got."""

    closed_by_user = False

    def __init__(self, seconds=0.0, fail_at=None):
        self.seconds, self.fail_at, self.indices, self.closed = seconds, fail_at, [], False

    def write(self, image, frame):
        if self.fail_at is not None and len(self.indices) >= self.fail_at:
            raise OSError("device unplugged")
        time.sleep(self.seconds)
        self.indices.append(frame.index)

    def close(self):
        self.closed = True


@pytest.fixture
def test_kinds():
    """Registers two output kinds backed by SlowSinks (a live one and a record), removed afterwards."""
    made = {}

    def factory(kind):
        def open_(argument, stream, settings):
            seconds, _, fail_at = argument.partition("/")
            sink = SlowSink(float(seconds or 0), int(fail_at) if fail_at else None)
            made.setdefault(kind, []).append(sink)
            return sink

        return open_

    SINKS.register("slowlive")(OutputKind(factory("slowlive"), "slowlive:S", any_size=True))
    SINKS.register("slowrecord")(OutputKind(factory("slowrecord"), "slowrecord:S", any_size=True, every_frame=True))
    yield made
    for name in ("slowlive", "slowrecord"):
        SINKS.unregister(name)


def feed(outputs, count, interval=0.0, fps=30.0):
    """Hand ``count`` frames to the outputs, ``interval`` s apart (a camera's pace); the time it took."""
    image = np.zeros((8, 8, 3), np.uint8)
    started = time.perf_counter()
    for i in range(count):
        outputs.write(image, Frame(i, image, time.perf_counter(), i / fps))
        time.sleep(interval)
    return time.perf_counter() - started


def test_a_slow_output_never_holds_the_others_back(test_kinds):
    outputs = open_outputs(["slowlive:0", "slowlive:0.05"], Stream(8, 8, 30.0), OutputSettings(), print)
    elapsed = feed(outputs, 40, interval=0.01)
    outputs.close()
    fast, slow = test_kinds["slowlive"]
    assert elapsed < 0.4 + 0.3  # handing over never waited for the slow output (40 x 50 ms = 2 s)
    report = outputs.report()
    # the fast one kept up (a frame or two may go when this shared machine pauses its thread)
    assert len(fast.indices) >= 36 and report["slowlive:0"]["dropped"] == 40 - len(fast.indices)
    assert len(slow.indices) < 15 and slow.indices[-1] == 39  # it shows the newest frame
    assert report["slowlive:0.05"]["dropped"] == 40 - len(slow.indices) and fast.closed and slow.closed


def test_a_recording_loses_no_frame_in_every_frame_pacing(test_kinds):
    outputs = open_outputs(["slowlive:0", "slowrecord:0.01"], Stream(8, 8, 30.0, live=False), OutputSettings(), print)
    feed(outputs, 40)
    outputs.close()
    record = test_kinds["slowrecord"][0]
    assert record.indices == list(range(40)) and outputs.report()["slowrecord:0.01"]["dropped"] == 0


def test_a_recording_counts_what_it_drops_in_live_pacing(test_kinds):
    # live pacing at 4 fps: the recording's queue holds 4 frames; the loop never waits for it
    outputs = open_outputs(["slowlive:0", "slowrecord:0.05"], Stream(8, 8, 4.0), OutputSettings(), print)
    elapsed = feed(outputs, 40)
    outputs.close()
    record = test_kinds["slowrecord"][0]
    entry = outputs.report()["slowrecord:0.05"]
    assert elapsed < 0.5 and entry["dropped"] > 0 and entry["written"] + entry["dropped"] == 40
    assert record.indices == sorted(record.indices) and record.indices[-1] == 39


def test_a_failing_output_is_closed_and_counted_and_the_others_go_on(test_kinds):
    outputs = open_outputs(["slowlive:0", "slowlive:0/5"], Stream(8, 8, 30.0), OutputSettings(), print)
    feed(outputs, 40, interval=0.01)
    outputs.close()
    healthy, failing = test_kinds["slowlive"]
    report = outputs.report()
    assert len(healthy.indices) >= 36 and healthy.indices[-1] == 39
    assert len(failing.indices) == 5 and failing.closed
    assert report["slowlive:0/5"]["errors"] == 1 and "OSError: device unplugged" in report["slowlive:0/5"]["error"]


def test_when_every_output_fails_the_run_ends_with_one_line(test_kinds):
    outputs = open_outputs(["slowlive:0/2"], Stream(8, 8, 30.0), OutputSettings(), print)
    with pytest.raises(UserError, match=r"every output failed \(slowlive:0/2: OSError: device unplugged\)"):
        feed(outputs, 5)
    outputs.close()


def test_has_display_per_platform():
    assert has_display("win32", {}) and has_display("darwin", {})
    assert not has_display("linux", {}) and has_display("linux", {"DISPLAY": ":0"})
    assert has_display("linux", {"WAYLAND_DISPLAY": "wayland-0"})


def test_auto_takes_the_first_output_that_opens(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    stream = Stream(64, 48, 30.0)
    opened, sink, skipped = resolve_output("auto:window,null", stream, OutputSettings())
    assert opened == "null" and skipped == ["window: cannot open a window here (no display)"]
    sink.close()
    with pytest.raises(UserError, match="cannot open a window here") as caught:
        resolve_output("auto:window", stream, OutputSettings())
    message = str(caught.value)
    assert "--output file:out.mp4" in message and "virtualcam" in message and "null" in message
    with pytest.raises(UserError, match="lists auto among"):
        resolve_output("auto:auto", stream, OutputSettings())


def no_display_env():
    import os

    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


@pytest.mark.parametrize(
    "outputs,message",
    [
        (["--output", "window"], "cannot open a window here (no display): use --output file:out.mp4"),
        ([], "no output could open here"),
    ],
)
def test_no_display_is_a_one_line_error_never_an_abort(outputs, message):
    if not outputs and any(
        "v4l2loopback" in open(p).read() for p in __import__("glob").glob("/sys/class/video4linux/*/name")
    ):
        pytest.skip("a virtual camera exists here, so auto opens it")
    result = subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", "live", "--input", "synthetic:size=64x48", *outputs],
        capture_output=True,
        text=True,
        timeout=120,
        env=no_display_env(),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]
    if not outputs:
        assert all(option in errors[0] for option in ("--output file:out.mp4", "virtualcam", "null"))


def test_outputs_run_on_their_own_threads_only_when_there_are_several(test_kinds):
    single = open_outputs(["slowlive:0"], Stream(8, 8, 30.0), OutputSettings(), print)
    assert single.channels[0].thread is None  # one output: written on the loop's thread, as before
    single.close()
    several = open_outputs(["slowlive:0", "slowrecord:0"], Stream(8, 8, 30.0), OutputSettings(), print)
    assert all(c.thread is not None and c.thread is not threading.current_thread() for c in several.channels)
    several.close()
