import time

import cv2
import numpy as np
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.queue import FrameQueue
from swapcam.realtime.sinks.base import OutputSettings, Stream
from swapcam.realtime.sinks.kinds import VirtualCameraSink, open_sink
from swapcam.realtime.sources.base import CaptureSettings, Frame, Pacer
from swapcam.realtime.sources.capture import open_source


def write_clip(path, n=20, size=(96, 64), fps=30.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), i * 10, np.uint8))
    writer.release()


def test_file_every_mode_reads_every_frame(tmp_path):
    clip = tmp_path / "c.mp4"
    write_clip(clip)
    source = open_source(f"file:{clip}", CaptureSettings())
    frames = []
    while (f := source.read()) is not None:
        frames.append(f)
    assert [f.index for f in frames] == list(range(20)) and not source.live
    assert abs(int(frames[7].image.mean()) - 70) <= 3


def test_file_live_mode_skips_frames_when_the_reader_is_late(tmp_path):
    clip = tmp_path / "c.mp4"
    write_clip(clip, n=30, fps=100.0)
    source = open_source(f"file:{clip}", CaptureSettings(pace="live"))
    first = source.read()
    time.sleep(0.1)  # ten frame periods late
    second = source.read()
    assert first.index == 0 and second.index >= 8 and source.skipped == second.index - 1


def test_pacer_reports_the_newest_due_frame():
    pacer = Pacer(1000.0)
    assert pacer.wait_for(0) == 0
    time.sleep(0.02)
    assert pacer.wait_for(1) >= 15


def test_image_folder_skips_corrupt_images(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "1b.png").write_bytes(b"not a png")
    source = open_source(f"images:{tmp_path}", CaptureSettings())
    values = []
    while (f := source.read()) is not None:
        values.append(int(f.image[0, 0, 0]))
    assert values == [0, 1, 2] and source.unreadable == 1


@pytest.mark.parametrize(
    "spec,message",
    [
        ("webcam", "is not valid"),
        ("file:/nope.mp4", "does not exist"),
        ("images:/nope", "does not exist"),
        ("camera:x", "not a camera index"),
        ("camera:9", "no camera at index 9"),
        ("file:", "needs a path"),
    ],
)
def test_bad_inputs_are_user_errors(spec, message):
    with pytest.raises(UserError, match=message):
        open_source(spec, CaptureSettings())


def test_unreadable_video_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(UserError, match="cannot read video"):
        open_source(f"file:{bad}", CaptureSettings())


def test_file_sink_writes_a_readable_video(tmp_path):
    out = tmp_path / "o.mp4"
    sink = open_sink(f"file:{out}", Stream(64, 48, 25.0), OutputSettings())
    for i in range(10):
        sink.write(np.full((48, 64, 3), 100, np.uint8), Frame(i, None, 0.0, i / 25.0))
    sink.close()
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    with pytest.raises(UserError, match="does not exist"):
        open_sink(f"file:{tmp_path}/no/o.mp4", Stream(64, 48, 25.0), OutputSettings())
    with pytest.raises(UserError, match="is not valid"):
        open_sink("zoom", Stream(64, 48, 25.0), OutputSettings())


class FakeCamera:
    """Stands in for pyvirtualcam.Camera: records the frames and format it was given."""

    def __init__(self, width, height, fps, fmt, device, backend):
        self.args = (width, height, fps, fmt, device, backend)
        self.device = device or "/dev/video9"
        self.frames = []

    def send(self, frame):
        self.frames.append(frame)

    def close(self):
        self.closed = True


def test_virtual_camera_gets_bgr_frames_unconverted():
    from pyvirtualcam import PixelFormat

    sink = VirtualCameraSink("", Stream(64, 48, 30.0), OutputSettings(device="/dev/video7"), camera_class=FakeCamera)
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR
    sink.write(frame, Frame(0, frame, 0.0, 0.0))
    assert sink.camera.args[3] == PixelFormat.BGR and sink.device == "/dev/video7"
    assert sink.camera.frames[0] is frame


def test_missing_virtual_camera_backend_gives_the_per_os_fix():
    def no_backend(**kwargs):
        raise RuntimeError("'v4l2loopback' backend: v4l2loopback device not found")

    with pytest.raises(UserError, match="no virtual camera available.*(v4l2loopback|OBS)"):
        VirtualCameraSink("", Stream(64, 48, 30.0), OutputSettings(), camera_class=no_backend)


def test_real_virtual_camera_when_a_loopback_device_exists():
    import glob

    if not any("v4l2loopback" in open(p).read() for p in glob.glob("/sys/class/video4linux/*/name")):
        pytest.skip("no v4l2loopback device on this machine")
    sink = open_sink("virtualcam", Stream(64, 48, 30.0), OutputSettings())
    colour = np.array([40, 120, 200], np.uint8)  # BGR; the loopback carries it as YUV, hence the tolerance
    image = np.broadcast_to(colour, (48, 64, 3)).copy()
    reader = None
    try:
        for i in range(3):  # a reader sees frames sent after it opened the device
            sink.write(image, Frame(i, image, 0.0, 0.0))
            reader = reader or cv2.VideoCapture(sink.device)
        sink.write(image, Frame(3, image, 0.0, 0.0))
        ok, seen = reader.read()
    finally:
        sink.close()
        if reader is not None:
            reader.release()
    assert ok and seen.shape == (48, 64, 3)
    np.testing.assert_allclose(seen.reshape(-1, 3).mean(0), colour, atol=12)


def test_queue_drops_oldest_when_live_and_blocks_when_not():
    live = FrameQueue(1, drop_oldest=True)
    for i in range(5):
        live.put(i)
    assert live.get() == 4 and live.dropped == 4
    every = FrameQueue(2, drop_oldest=False)
    every.put(1)
    every.put(2)
    import threading

    threading.Timer(0.05, every.get).start()
    every.put(3)  # blocks until the timer takes one
    assert every.dropped == 0 and [every.get(), every.get()] == [2, 3]
    every.close()
    assert every.get() is None


def test_input_kinds_carry_their_own_metadata():
    from swapcam.realtime.sources.capture import SOURCES, input_kind, input_usage

    assert input_usage().split(" | ")[:3] == ["camera:N", "file:PATH", "images:DIR"]
    assert {name for name in SOURCES if SOURCES.get(name).endless} == {"camera", "synthetic"}
    assert input_kind("images:x")[1].still_images and not input_kind("file:x")[1].still_images
    with pytest.raises(UserError, match=r"use camera:N \| file:PATH \| images:DIR \| synthetic\[:…\]"):
        input_kind("webcam:0")
    synthetic = open_source("synthetic:size=64x48", CaptureSettings())  # no argument needed, pace auto → live
    assert synthetic.live and synthetic.length is None
    synthetic.close()


def test_live_replay_source_is_a_complete_source():
    """The source live.py hands the pipeline (its first frame put back) has every Source member."""
    import typing

    from swapcam.realtime.run.live import _Replay
    from swapcam.realtime.sources.base import Source

    inner = open_source("synthetic:size=64x48", CaptureSettings(pace="every"))
    first = inner.read()
    replay = _Replay(inner, first)
    members = set(typing.get_type_hints(Source)) | {name for name in vars(Source) if not name.startswith("_")}
    assert {"fps", "skipped", "unreadable", "read", "close"} <= members
    assert all(hasattr(replay, name) for name in members)
    assert replay.read() is first and replay.read().index == 1 and replay.unreadable == 0
    replay.close()
