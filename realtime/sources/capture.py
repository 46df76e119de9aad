"""Capture stage: frames from a camera, a video file, an image folder or the synthetic generator.

Inputs are written ``KIND:ARGUMENT`` — ``camera:0``, ``file:clip.mp4``, ``images:DIR``,
``synthetic`` or ``synthetic:identity=ada,seed=3`` — and each kind is a registered source.

Pacing: a ``live`` source delivers frames on its own clock, like a camera (a file or synthetic
source sleeps until each frame is due and skips frames it is late for), and the pipeline keeps
only the newest; an ``every`` source delivers each frame as fast as it is consumed (offline runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.quiet import opencv_silenced
from ..core.registry import BadInput, Registry
from .base import IMAGE_SUFFIXES, CaptureSettings, Frame, Pacer, Source


class CameraSource:
    live = True
    length: int | None = None
    unreadable = 0

    def __init__(self, argument: str, settings: CaptureSettings):
        if not argument.isdigit():
            raise UserError(f"camera:{argument} is not a camera index: use camera:0, camera:1, …")
        self.index = int(argument)
        with opencv_silenced():  # a missing camera is said below, in one line: not by OpenCV too
            self.capture = cv2.VideoCapture(self.index)
        if not self.capture.isOpened():
            raise UserError(
                f"no camera at index {self.index}: connect one, try another index, "
                "or run without a camera using --input synthetic"
            )
        self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
        self.capture.set(cv2.CAP_PROP_FPS, settings.fps)
        # drivers report what was asked for rather than what they deliver: the pipeline measures
        # the real rate from frame timestamps (report: capture_fps)
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or settings.fps
        self.skipped = 0
        self._next = 0

    def read(self) -> Frame | None:
        ok, image = self.capture.read()
        if not ok:
            return None
        now = time.perf_counter()
        frame = Frame(self._next, image, now, now)
        self._next += 1
        return frame

    def close(self) -> None:
        self.capture.release()


class FileSource:
    unreadable = 0

    def __init__(self, argument: str, settings: CaptureSettings):
        path = Path(argument)
        if not path.is_file():
            raise UserError(f"video file {path} does not exist: check the path after file:")
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            raise UserError(f"cannot read video {path}: it is not a video OpenCV can decode (convert it to H.264 mp4)")
        self._pending: np.ndarray | None = first
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.length = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        self.live = settings.pace == "live"
        self.loop = settings.loop
        self.pacer = Pacer(self.fps)
        self.skipped = 0
        self._next = 0

    def _decode(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self.capture.read()
        if not ok and self.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self.capture.read()
        return image if ok else None

    def read(self) -> Frame | None:
        if self.live:
            due = self.pacer.wait_for(self._next)
            while self._next < due:  # late: skip without decoding, as a camera would drop them
                if self._pending is None and not self.capture.grab():
                    break
                self._pending = None
                self._next += 1
                self.skipped += 1
        image = self._decode()
        if image is None:
            return None
        frame = Frame(self._next, image, time.perf_counter(), self._next / self.fps)
        self._next += 1
        return frame

    def close(self) -> None:
        self.capture.release()


class RandomAccessSource:
    """Base for sources that can jump to any frame: when live and late, skip straight to the frame
    due now instead of reading the ones in between."""

    live: bool
    pacer: Pacer
    skipped: int
    _next: int

    def _catch_up(self) -> None:
        if self.live:
            due = self.pacer.wait_for(self._next)
            self.skipped += due - self._next
            self._next = due


class ImageFolderSource(RandomAccessSource):
    def __init__(self, argument: str, settings: CaptureSettings):
        folder = Path(argument)
        if not folder.is_dir():
            raise UserError(f"image folder {folder} does not exist: check the path after images:")
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise UserError(f"image folder {folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.fps = settings.fps
        self.length = None if settings.loop else len(self.paths)
        self.live = settings.pace == "live"
        self.loop = settings.loop
        self.pacer = Pacer(self.fps)
        self.skipped = 0
        self.unreadable = 0
        self._next = 0

    def read(self) -> Frame | None:
        self._catch_up()
        while True:
            position = self._next % len(self.paths) if self.loop else self._next
            if position >= len(self.paths):
                return None
            path = self.paths[position]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                break
            self.unreadable += 1  # a corrupt image is skipped, never fatal
            self._next += 1
        # each photo at its own size: the pipeline swaps it so, and fixed-size outputs letterbox it
        frame = Frame(self._next, image, time.perf_counter(), self._next / self.fps, path.name)
        self._next += 1
        return frame

    def close(self) -> None:
        pass


class SyntheticSource(RandomAccessSource):
    length: int | None = None
    unreadable = 0

    def __init__(self, argument: str, settings: CaptureSettings):
        from .synthetic import SyntheticSettings, SyntheticVideo

        self.video = SyntheticVideo(SyntheticSettings.from_spec(argument))
        self.fps = self.video.fps
        self.live = settings.pace != "every"
        self.pacer = Pacer(self.fps)
        self.skipped = 0
        self._next = 0

    def read(self) -> Frame | None:
        self._catch_up()
        synthetic = self.video.frame(self._next)
        frame = Frame(self._next, synthetic.image, time.perf_counter(), self._next / self.fps)
        self._next += 1
        return frame

    def close(self) -> None:
        pass


SourceFactory = Callable[[str, CaptureSettings], Source]


@dataclass(frozen=True)
class InputKind:
    """One kind of input, everything about it in one place.

    ``auto_pace``: the pace ``--pace auto`` resolves to; ``endless``: it never ends by itself
    (extract stops after ``--count`` faces); ``usage``: how it is written on the command line,
    ``options``: what may follow it; ``path``: the argument is a file or folder (required; its
    name labels the faces extracted from it), ``example`` shows one; ``default_argument``: used
    when nothing follows the colon; ``still_images``: frames are unrelated photos (detect each anew);
    ``reopens``: a device that can vanish and come back (unplugged): a failed read is an outage
    bridged with stand-in frames while it is reopened (realtime/sources/reopen.py), not the end of the input.
    """

    open: SourceFactory
    auto_pace: str
    endless: bool
    usage: str
    options: str = ""
    path: bool = False
    example: str = ""
    default_argument: str = ""
    still_images: bool = False
    reopens: bool = False


SOURCES: Registry[InputKind] = Registry("input kind")
SOURCES.register("camera", BadInput(("--input", "camera:9"), "no camera at index 9: connect one"))(
    InputKind(CameraSource, "live", True, "camera:N", default_argument="0", reopens=True)
)
SOURCES.register(
    "file",
    BadInput(
        ("--input", "file:{tmp}/missing.mp4"), "video file {tmp}/missing.mp4 does not exist: check the path after file:"
    ),
)(InputKind(FileSource, "every", False, "file:PATH", path=True, example="clip.mp4"))
SOURCES.register(
    "images",
    BadInput(
        ("--input", "images:{tmp}/missing"), "image folder {tmp}/missing does not exist: check the path after images:"
    ),
)(InputKind(ImageFolderSource, "every", False, "images:DIR", path=True, example="frames/", still_images=True))
SOURCES.register(
    "synthetic", BadInput(("--input", "synthetic:identity=nobody"), "unknown synthetic identity 'nobody'")
)(InputKind(SyntheticSource, "live", True, "synthetic", options="[:identity=NAME,seed=N,fps=F,size=WxH]"))


def input_usage(short: bool = False) -> str:
    """The input kinds as help text: ``camera:N | file:PATH | …`` (``short``: options elided)."""
    kinds = [SOURCES.get(name) for name in SOURCES]
    return " | ".join(k.usage + ("[:…]" if short and k.options else k.options) for k in kinds)


def input_kind(spec: str) -> tuple[str, InputKind]:
    """The kind's name and entry of ``KIND:ARGUMENT``; UserError when the kind is unknown."""
    name = spec.partition(":")[0]
    if name not in SOURCES:
        raise UserError(f"input {spec!r} is not valid: use {input_usage(short=True)}")
    return name, SOURCES.get(name)


def open_source(spec: str, settings: CaptureSettings) -> Source:
    """Open ``KIND:ARGUMENT`` (see module docstring)."""
    name, kind = input_kind(spec)
    argument = spec.partition(":")[2]
    if not argument:
        if kind.path:
            raise UserError(f"input {name}: needs a path, e.g. --input {name}:{kind.example}")
        argument = kind.default_argument
    if settings.pace == "auto":
        settings = settings.replace(pace=kind.auto_pace)
    if kind.reopens:
        from .reopen import ReopeningSource

        return ReopeningSource(lambda: kind.open(argument, settings), settings.width, settings.height)
    return kind.open(argument, settings)
