"""Output stage: where processed frames go — ``virtualcam``, ``window``, ``file:PATH`` or ``null``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .errors import UserError
from .provenance import DEFAULT_LABEL
from .registry import Registry
from .settings import Settings, setting

VIRTUALCAM_FIX = {
    "linux": "install v4l2loopback (sudo apt install v4l2loopback-dkms; "
    "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=swapcam)",
    "win32": "install OBS Studio 30+ and start its Virtual Camera once, or install Unity Capture",
    "darwin": "install OBS Studio 30+ and start its Virtual Camera once (System Settings may ask to allow the extension)",
}


@dataclass(frozen=True)
class OutputSettings(Settings):
    section = "output"
    device: str | None = setting(None, "virtual camera device, e.g. /dev/video10 (default: the first free one)")
    backend: str | None = setting(None, "pyvirtualcam backend: v4l2loopback, obs or unitycapture (default: auto)")
    codec: str = setting("mp4v", "FourCC of the video codec for file output")
    label: str = setting(
        DEFAULT_LABEL,
        "disclosure label drawn on every output frame "
        '("" to leave frames unlabelled, e.g. when the call itself discloses it)',
    )


class Sink(Protocol):
    @property
    def closed_by_user(self) -> bool:
        """The viewer closed the output (a window's q or Esc): the run ends."""

    def write(self, frame: np.ndarray) -> None:
        """frame: (H, W, 3) uint8 BGR."""

    def close(self) -> None: ...


class NullSink:
    closed_by_user = False

    def __init__(self, argument: str, width: int, height: int, fps: float, settings: OutputSettings):
        pass

    def write(self, frame: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


class FileSink:
    closed_by_user = False

    def __init__(self, argument: str, width: int, height: int, fps: float, settings: OutputSettings):
        if not argument:
            raise UserError("output file: needs a path, e.g. --output file:out.mp4")
        path = Path(argument)
        if not path.parent.is_dir():
            raise UserError(f"cannot write {path}: folder {path.parent} does not exist")
        self.path = path
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*settings.codec), fps, (width, height))
        if not self.writer.isOpened():
            raise UserError(
                f"cannot write video {path} with codec {settings.codec}: use a .mp4 or .avi name, or another --codec"
            )

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        self.writer.release()


class WindowSink:
    title = "swapcam"

    def __init__(self, argument: str, width: int, height: int, fps: float, settings: OutputSettings):
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise UserError("cannot open a window here (no display): use --output file:out.mp4 or virtualcam") from None
        self.closed_by_user = False

    def write(self, frame: np.ndarray) -> None:
        cv2.imshow(self.title, frame)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.closed_by_user = True

    def close(self) -> None:
        cv2.destroyWindow(self.title)


class VirtualCameraSink:
    """pyvirtualcam with BGR frames handed over as they are (the backend converts once)."""

    closed_by_user = False

    def __init__(
        self,
        argument: str,
        width: int,
        height: int,
        fps: float,
        settings: OutputSettings,
        camera_class: Callable | None = None,
    ):
        if camera_class is None:
            import pyvirtualcam

            camera_class = pyvirtualcam.Camera
        from pyvirtualcam import PixelFormat

        try:
            self.camera = camera_class(
                width=width,
                height=height,
                fps=fps,
                fmt=PixelFormat.BGR,
                device=settings.device,
                backend=settings.backend,
            )
        except (RuntimeError, ValueError) as err:
            fix = VIRTUALCAM_FIX.get(sys.platform, VIRTUALCAM_FIX["linux"])
            reason = str(err).strip().splitlines()[0] if str(err).strip() else "no backend"
            raise UserError(f"no virtual camera available ({reason}): {fix}") from None

    @property
    def device(self) -> str:
        return self.camera.device

    def write(self, frame: np.ndarray) -> None:
        self.camera.send(frame)

    def close(self) -> None:
        self.camera.close()


SinkFactory = Callable[[str, int, int, float, OutputSettings], Sink]


@dataclass(frozen=True)
class OutputKind:
    """One kind of output: how to open it and how it is written on the command line."""

    open: SinkFactory
    usage: str


SINKS: Registry[OutputKind] = Registry("output kind")
SINKS.register("virtualcam")(OutputKind(VirtualCameraSink, "virtualcam"))
SINKS.register("window")(OutputKind(WindowSink, "window"))
SINKS.register("file")(OutputKind(FileSink, "file:PATH"))
SINKS.register("null")(OutputKind(NullSink, "null"))


def output_usage() -> str:
    """The output kinds as help text: ``virtualcam | window | file:PATH | null``."""
    return " | ".join(SINKS.get(name).usage for name in SINKS)


def open_sink(spec: str, width: int, height: int, fps: float, settings: OutputSettings) -> Sink:
    """Open ``KIND[:ARGUMENT]`` for frames of width × height at fps."""
    kind, _, argument = spec.partition(":")
    if kind not in SINKS:
        raise UserError(f"output {spec!r} is not valid: use {output_usage()}")
    return SINKS.get(kind).open(argument, width, height, fps, settings)
