"""The source contract: a frame and what delivers frames, and the capture settings."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..core.settings import Settings, setting

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class CaptureSettings(Settings):
    section = "capture"
    pace: str = setting(
        "auto",
        "live: frames arrive on their own clock and late ones are dropped; "
        "every: process every frame (offline); auto: live for camera and synthetic, "
        "every for files and images",
        choices=("auto", "live", "every"),
    )
    width: int = setting(1280, "camera width to request", low=16, high=7680)
    height: int = setting(720, "camera height to request", low=16, high=4320)
    fps: float = setting(30.0, "camera fps to request; pace of image folders", low=1.0, high=240.0)
    loop: bool = setting(False, "restart files, folders and synthetic input at the end")


@dataclass
class Frame:
    """A captured frame: (H, W, 3) uint8 BGR image and its index in the source.

    ``timestamp`` is the wall-clock capture time (perf_counter seconds), which latency is measured
    from. ``media_time`` is the frame's time in the input's own timeline (index / fps for files,
    folders and synthetic input; the capture time for cameras): smoothing must use it, because in
    every-frame mode frames are read milliseconds apart although they are 1/fps apart in the video.
    ``name``: the photo's file name, for an image folder (outputs that write photos keep it).
    ``fault``: set on a stand-in for a frame the input could not give (``camera_lost``,
    realtime/sources/reopen.py): it skips the swap and counts as that fault.
    """

    index: int
    image: np.ndarray
    timestamp: float
    media_time: float
    name: str | None = None
    fault: str | None = None


class Source(Protocol):
    fps: float
    live: bool
    length: int | None  # frames in the input; None for endless inputs (camera, synthetic)

    # counters the source keeps and its reader only reads (a wrapper may forward them)
    @property
    def skipped(self) -> int:
        """Frames the source itself dropped because the consumer was late."""

    @property
    def unreadable(self) -> int:
        """Frames or images that could not be decoded and were skipped."""

    def read(self) -> Frame | None:
        """The next frame; None at the end of the input."""

    def close(self) -> None: ...


class Pacer:
    """Real-time clock for sources that are not cameras: when is frame i due, and which frame is
    due now (so a late reader skips ahead instead of building a backlog)."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self.start: float | None = None

    def wait_for(self, index: int) -> int:
        """Sleep until frame ``index`` is due, or return the index of the newest frame already due."""
        now = time.perf_counter()
        if self.start is None:
            self.start = now - index * self.period
        due = self.start + index * self.period
        if now < due:
            time.sleep(due - now)
            return index
        return max(index, int((now - self.start) / self.period))
