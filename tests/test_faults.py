"""A stream that survives its own faults, shown with fault-injecting doubles run through run_live: a camera
unplugged mid-stream and plugged back in, and a virtual camera whose backend stalls. (Ctrl-C and SIGTERM
during a recording: tests/test_recording.py.)"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import PipelineSettings
from swapcam.realtime.sinks.kinds import SINKS, OutputKind, VirtualCameraSink
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.capture import SOURCES, InputKind
from swapcam.realtime.sources.reopen import PIXELS_ACROSS, ReopeningSource, stand_in_image
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

WIDTH, HEIGHT = 160, 120


class UsbPort:
    """Where the camera double is plugged in: after ``unplug_after`` frames it is pulled out, and plugged
    back ``away_s`` later. A handle opened before the unplug never reads again (as with a real device):
    the camera must be opened anew."""

    def __init__(self, unplug_after: int, away_s: float):
        self.unplug_after, self.away_s = unplug_after, away_s
        self.frames_read = 0
        self.unplugged_at: float | None = None
        self.opened_at: list[float] = []
        # the picture the camera sees, made once: building it takes ~0.4 s of Python, which inside the
        # double's reopen would be timed as the stream's own reopen
        self.video = SyntheticVideo(SyntheticSettings(size=f"{WIDTH}x{HEIGHT}", seed=3))

    @property
    def back_at(self) -> float:
        assert self.unplugged_at is not None
        return self.unplugged_at + self.away_s

    def present(self) -> bool:
        """Whether the camera is plugged in now (pulled out once it has given ``unplug_after`` frames)."""
        if self.unplugged_at is None and self.frames_read >= self.unplug_after:
            self.unplugged_at = time.perf_counter()
        return self.unplugged_at is None or time.perf_counter() >= self.back_at


class FlakyCamera:
    """A camera source double on ``port``: synthetic frames at ``fps``; reads fail once it is unplugged,
    and opening fails, as CameraSource's does, while it is away."""

    live, length, skipped, unreadable = True, None, 0, 0

    def __init__(self, port: UsbPort, fps: float = 15.0):
        if not port.present():
            raise UserError("no camera at index 0: connect one")
        self.port, self.fps = port, fps
        self.opened_at = time.perf_counter()
        port.opened_at.append(self.opened_at)
        self.video = port.video
        self.next_due = self.opened_at

    def read(self):
        time.sleep(max(0.0, self.next_due - time.perf_counter()))  # a camera's pace
        self.next_due += 1 / self.fps
        self.port.present()
        if self.port.unplugged_at is not None and self.opened_at <= self.port.unplugged_at:
            return None  # cv2.VideoCapture.read's (False, None) from a device that was pulled out
        now = time.perf_counter()
        frame = Frame(self.port.frames_read, self.video.frame(self.port.frames_read).image, now, now)
        self.port.frames_read += 1
        return frame

    def close(self):
        pass


class Probe:
    """An output that keeps what it was given (time, frame fault, image) and ends the run, as a viewer
    closing a window would, once ``enough`` real frames have followed an outage."""

    def __init__(self, enough: int = 0):
        self.enough = enough
        self.got: list[tuple[float, str | None, np.ndarray]] = []

    @property
    def closed_by_user(self) -> bool:
        faults = [fault for _, fault, _ in self.got]
        if "camera_lost" not in faults:
            return False
        after = faults[len(faults) - faults[::-1].index("camera_lost") :]
        return bool(self.enough) and len(after) >= self.enough

    def write(self, image, frame):
        self.got.append((time.perf_counter(), frame.fault, image.copy()))

    def close(self):
        pass


def detail(image: np.ndarray) -> float:
    """Mean spread of the values inside each block of the stand-in's grid (rows 30-90): 0 when pixelated."""
    block = WIDTH // PIXELS_ACROSS
    rows = image[30:90].astype(np.float32).reshape(60 // block, block, PIXELS_ACROSS, block, 3)
    return float(rows.std(axis=(1, 3)).mean())


@pytest.fixture
def parts():
    """Registers the input kind ``flakycam`` and the output kind ``probe`` for one test; yields a dict
    the test puts the port and probe in."""
    made: dict = {}
    SOURCES.register("flakycam")(
        InputKind(lambda argument, settings: FlakyCamera(made["port"]), "live", True, "flakycam", reopens=True)
    )
    SINKS.register("probe")(OutputKind(lambda argument, stream, settings: made["probe"], "probe", any_size=True))
    yield made
    SOURCES.unregister("flakycam")
    SINKS.unregister("probe")


def test_an_unplugged_camera_keeps_the_stream_going_and_reopens_when_it_is_back(parts, inverting_model_path):
    port = parts["port"] = UsbPort(unplug_after=15, away_s=1.0)
    probe = parts["probe"] = Probe(enough=8)
    report = run_live(LiveRun("flakycam", inverting_model_path, "probe"), log=lambda line: None)

    times = [t for t, _, _ in probe.got]
    lost = [i for i, (_, fault, _) in enumerate(probe.got) if fault == "camera_lost"]
    first_back = lost[-1] + 1
    assert lost == list(range(lost[0], first_back)) and probe.got[lost[0] - 1][1] != "camera_lost"
    # the output kept getting frames all through the outage, at about the camera's pace
    assert len(lost) >= 0.5 * port.away_s * 15 and max(np.diff(times[lost[0] - 1 : first_back + 1])) < 0.5
    # reopened within 2 s of the camera's return (REOPEN_EVERY_S is 0.5 s), frames flowing again
    assert len(port.opened_at) == 2 and port.opened_at[1] - port.back_at <= 2.0
    assert times[first_back] - port.back_at <= 2.0 and len(probe.got) - first_back >= 8

    # the stand-in: the notice along the top, white on black, over a darkened picture too coarse for a face
    before, stand_in = probe.got[lost[0] - 1][2], probe.got[lost[len(lost) // 2]][2]
    notice = stand_in[4:24, 20:140]
    assert (notice > 200).all(axis=2).sum() >= 30 and (notice < 10).all(axis=2).mean() > 0.5
    assert detail(stand_in) < 4 < 10 < detail(before)  # no detail left (a watermark may add a trace)
    assert stand_in[30:90].mean() < 0.7 * before[30:90].mean()

    assert report["camera"]["outages"] == 1 and report["camera"]["reopened"] == 1
    assert report["faults"]["camera_lost"] == len(lost) <= report["camera"]["stand_in_frames"]
    assert port.away_s * 0.9 <= report["camera"]["lost_s"] <= port.away_s + 2.0


def test_a_camera_that_stays_away_is_retried_and_the_stand_in_goes_on():
    port = UsbPort(unplug_after=3, away_s=60.0)
    source = ReopeningSource(lambda: FlakyCamera(port, fps=50.0), WIDTH, HEIGHT, reopen_every_s=0.05)
    frames = [source.read() for _ in range(25)]
    source.close()
    assert [f.fault for f in frames[:3]] == [None] * 3 and {f.fault for f in frames[3:]} == {"camera_lost"}
    assert [f.index for f in frames] == list(range(25))
    report = source.report()
    assert report["outages"] == 1 and report["reopened"] == 0 and "no camera at index 0" in report["last_error"]
    assert len(port.opened_at) == 1  # every reopen was refused while it was away


def test_a_camera_that_reopens_but_fails_at_once_is_still_the_same_outage():
    class Device:
        live, length, skipped, unreadable, fps = True, None, 0, 0, 100.0

        def __init__(self, good_reads):
            self.good_reads = good_reads

        def read(self):
            self.good_reads -= 1
            return Frame(0, np.full((HEIGHT, WIDTH, 3), 90, np.uint8), 0.0, 0.0) if self.good_reads >= 0 else None

        def close(self):
            pass

    devices = iter([Device(2), Device(0), Device(5)])
    source = ReopeningSource(lambda: next(devices), WIDTH, HEIGHT, reopen_every_s=0.02)
    faults = []
    while len([f for f in faults if f is None]) < 5:
        faults.append(source.read().fault)
    report = source.report()
    assert faults[:2] == [None, None] and faults[-3:] == [None] * 3 and "camera_lost" in faults
    assert report["outages"] == 1 and report["reopened"] == 2 and report["lost_s"] > 0


def test_a_stand_in_before_any_frame_is_black_with_the_notice():
    image = stand_in_image(None, 320, 240)
    assert image.shape == (240, 320, 3) and (image[40:] == 0).all() and (image[:40] > 200).any()


class StalledCamera:
    """A pyvirtualcam camera double whose every send hangs ``stall_s`` (a consumer app frozen)."""

    def __init__(self, stall_s: float, **kwargs):
        self.stall_s, self.device, self.sent = stall_s, "/dev/video9", 0

    def send(self, frame):
        time.sleep(self.stall_s)
        self.sent += 1

    def close(self):
        pass


@pytest.fixture
def stalled_virtualcam():
    camera_class = functools.partial(StalledCamera, 1.5)
    SINKS.register("stalledcam")(
        OutputKind(functools.partial(VirtualCameraSink, camera_class=camera_class), "stalledcam")
    )
    yield
    SINKS.unregister("stalledcam")


def test_a_stalled_virtual_camera_loses_frames_and_the_other_output_keeps_its_latency(
    parts, stalled_virtualcam, inverting_model_path
):
    probe = parts["probe"] = Probe()
    report = run_live(
        LiveRun(
            "synthetic:size=160x120",
            inverting_model_path,
            ["probe", "stalledcam"],
            config=LiveConfig(pipeline=PipelineSettings(max_frames=60)),
        ),
        log=lambda line: None,
    )
    stalled, other = report["outputs"]["stalledcam"], report["outputs"]["probe"]
    # the stalled one shows the newest frame when it wakes, and counts the rest as dropped
    assert stalled["written"] <= 3 and stalled["dropped"] >= 60 - 3 - stalled["written"]
    assert other["written"] == len(probe.got) >= 0.9 * report["frames"] and report["frames"] == 60
    # latency stays that of a frame's work, nowhere near the 1.5 s stall
    assert other["latency_ms"]["p95"] < 300 and report["latency_ms"]["p95"] < 300
