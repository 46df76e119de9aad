"""A camera that comes back: when reads fail (unplugged, a driver reset, a USB hub browning out) the
stream goes on with stand-in frames, and the device is reopened by itself once it is there again.

Stand-in frame: the last good picture pixelated and darkened, with "camera lost - reconnecting" on
it, at the camera's frame rate, so the call, recording or stream keeps a picture and says why it is
still. The camera's array may not have been swapped yet, so it is pixelated beyond recognition:
shown sharp it could show the face the swap hides. Stand-in frames carry ``Frame.fault = "camera_lost"``: they skip
the swap and count in the report's ``faults`` like any frame that passed through.

While the camera is lost it is reopened every REOPEN_EVERY_S; the first frame read after that ends
the outage. The report's ``camera`` entry counts outages, reopens, stand-in frames and seconds lost.

Only a read that fails or raises is noticed: a driver whose read hangs holds the capture thread until
the driver itself gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from .base import Frame, Source

REOPEN_EVERY_S = 0.5  # a device back is streaming again within this and its open time
NOTICE = "camera lost - reconnecting"
LOST = "camera_lost"  # the fault stand-in frames count as
PIXELS_ACROSS = 16  # the stand-in picture's detail: shapes and colours, no face


def stand_in_image(last: np.ndarray | None, width: int, height: int, notice: str = NOTICE) -> np.ndarray:
    """(H, W, 3) uint8: ``last`` (or black when there is none) pixelated, darkened, with ``notice``
    in a box along the top (the disclosure label keeps the bottom)."""
    if last is None:
        image = np.zeros((height, width, 3), np.uint8)
    else:
        height, width = last.shape[:2]
        across = (PIXELS_ACROSS, max(1, round(PIXELS_ACROSS * height / width)))
        small = cv2.resize(last, across, interpolation=cv2.INTER_AREA)
        image = np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8)
        image //= 2
    # legible on a 720p call, and never wider than the frame
    full_width = cv2.getTextSize(notice, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)[0][0]
    scale = min(max(0.4, height / 900), 0.9 * width / full_width)
    thickness = max(1, round(scale * 2))
    (text_width, text_height), baseline = cv2.getTextSize(notice, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    margin = max(4, round(8 * scale))
    x = max(margin, (width - text_width) // 2)
    box_bottom = text_height + baseline + 3 * margin
    image[margin:box_bottom, x - margin : x + text_width + margin] = 0
    cv2.putText(
        image,
        notice,
        (x, margin + text_height + margin),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return image


class ReopeningSource:
    """A live device source (``open_device()`` opens it, raising when it is not there) that outlives
    the device: see the module docstring. The first open is not retried: a camera missing when the
    run starts is the user's to fix (its UserError goes up)."""

    def __init__(
        self, open_device: Callable[[], Source], width: int, height: int, reopen_every_s: float = REOPEN_EVERY_S
    ):
        self.open_device = open_device
        self.device: Source | None = open_device()
        self.fps, self.live = self.device.fps, True
        self.length: int | None = None  # a camera never ends
        self.width, self.height = width, height  # of stand-ins before any frame was read
        self.reopen_every_s = reopen_every_s
        self.outages = self.reopens = self.stand_ins = 0
        self.lost_s = 0.0
        self.last_error: str | None = None
        self._skipped_before = 0  # the skipped count of devices closed before this one
        self._last_image: np.ndarray | None = None
        self._stand_in: np.ndarray | None = None  # this outage's frame, drawn once
        self._lost_since: float | None = None
        self._next_attempt = self._next_stand_in = 0.0
        self._next = 0

    @property
    def skipped(self) -> int:
        return self._skipped_before + (self.device.skipped if self.device is not None else 0)

    @property
    def unreadable(self) -> int:
        return 0

    def read(self) -> Frame | None:
        """The device's next frame, or a stand-in while it is lost (never None: a camera never ends)."""
        if self.device is None and time.perf_counter() >= self._next_attempt:
            self._reopen()
        if self.device is not None:
            frame = self._read_device()
            if frame is not None:
                return frame
        return self._stand_in_frame()

    def _read_device(self) -> Frame | None:
        assert self.device is not None
        try:
            frame = self.device.read()
        except Exception as err:  # a driver's fault is an outage, never the end of the stream
            self.last_error = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            frame = None
        if frame is None:
            self._lose()
            return None
        if self._lost_since is not None:
            self.lost_s += time.perf_counter() - self._lost_since
            self._lost_since = None
        self._last_image = frame.image
        # numbered on from the frames before, whatever a reopened device counts from
        frame = Frame(self._next, frame.image, frame.timestamp, frame.media_time, frame.name)
        self._next += 1
        return frame

    def _lose(self) -> None:
        self._close_device()
        now = time.perf_counter()
        if self._lost_since is None:  # a reopened device that fails at once is still the same outage
            self.outages += 1
            self._lost_since = now
        self._next_attempt = now + self.reopen_every_s
        self._next_stand_in = now
        self._stand_in = None

    def _reopen(self) -> None:
        try:
            self.device = self.open_device()
        except Exception as err:  # still unplugged (a UserError from the camera), or anything else
            self.last_error = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            self._next_attempt = time.perf_counter() + self.reopen_every_s
            return
        self.reopens += 1

    def _stand_in_frame(self) -> Frame:
        # a camera's pace: one stand-in a frame period, however fast the failing reads return
        delay = self._next_stand_in - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        now = time.perf_counter()
        self._next_stand_in = max(now, self._next_stand_in + 1 / self.fps)
        if self._stand_in is None:
            self._stand_in = stand_in_image(self._last_image, self.width, self.height)
        self.stand_ins += 1
        frame = Frame(self._next, self._stand_in.copy(), now, now, fault=LOST)
        self._next += 1
        return frame

    def _close_device(self) -> None:
        if self.device is None:
            return
        self._skipped_before += self.device.skipped
        try:
            self.device.close()
        except Exception:  # a device that is gone may fail to close as well; it is dropped either way
            pass
        self.device = None

    def close(self) -> None:
        self._close_device()

    def report(self) -> dict[str, Any]:
        lost_s = self.lost_s + (time.perf_counter() - self._lost_since if self._lost_since is not None else 0.0)
        entry: dict[str, Any] = {
            "outages": self.outages,
            "reopened": self.reopens,
            "stand_in_frames": self.stand_ins,
            "lost_s": round(lost_s, 2),
        }
        if self.last_error:
            entry["last_error"] = self.last_error
        return entry


def outage_report(source: object) -> dict[str, Any]:
    """The report's ``camera`` entry when ``source`` reopens itself, else nothing."""
    return {"camera": source.report()} if isinstance(source, ReopeningSource) else {}
