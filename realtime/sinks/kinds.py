"""Output stage: where processed frames go — ``auto``, ``virtualcam``, ``window``, ``file:PATH``,
``images:DIR``, ``udp://HOST:PORT`` or ``null`` — each a registered kind that says what it needs (a
fixed frame size, every frame, the main thread). Recording (``file:``) lives in realtime/sinks/recording.py,
streaming (``udp:``) in realtime/sinks/streaming.py.

``auto`` opens the first of its candidates that works here: the virtual camera, else a window where
there is a display; ``auto:virtualcam,null`` names other candidates (the demo uses that).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.files import require_folder
from ..core.registry import BadInput, Registry
from .base import OutputSettings, Sink, Stream
from .recording import FileSink
from .streaming import UdpSink

if TYPE_CHECKING:
    from ..sources.base import Frame

VIRTUALCAM_FIX = {
    "linux": "install v4l2loopback (sudo apt install v4l2loopback-dkms; "
    "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=swapcam)",
    "win32": "install OBS Studio 30+ and start its Virtual Camera once, or install Unity Capture",
    "darwin": "install OBS Studio 30+ and start its Virtual Camera once (System Settings may ask to allow the extension)",
}
ELSEWHERE = "use --output file:out.mp4, --output virtualcam or --output null"


def has_display(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a window can open: always on Windows and macOS, on Linux and other Unixes only with
    an X11 or Wayland display (without one, OpenCV's Qt aborts the whole process)."""
    if platform in ("win32", "darwin"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


class NullSink:
    closed_by_user = False

    def __init__(self, argument: str, stream: Stream, settings: OutputSettings):
        pass

    def write(self, image: np.ndarray, frame: Frame) -> None:
        pass

    def close(self) -> None:
        pass


class ImageFolderSink:
    """One image per frame at the frame's own size: a photo under its own name, a video frame as
    000123.png (its index)."""

    closed_by_user = False

    def __init__(self, argument: str, stream: Stream, settings: OutputSettings):
        if not argument:
            raise UserError("output images: needs a folder, e.g. --output images:swapped/")
        folder = require_folder(argument)
        if stream.source is not None and folder.resolve() == stream.source.resolve():
            raise UserError(f"output folder {folder} is the input folder: write the swapped photos to another folder")
        if folder.exists() and not folder.is_dir():
            raise UserError(f"output images:{folder} is a file: name a folder")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as err:  # a folder nobody may create (/proc/…), no permission, a read-only disk
            raise UserError(
                f"cannot create output folder {folder} ({err.strerror}): name a folder you can write to"
            ) from None
        self.folder = folder

    def write(self, image: np.ndarray, frame: Frame) -> None:
        path = self.folder / (frame.name or f"{frame.index:06d}.png")
        if not cv2.imwrite(str(path), image):
            raise OSError(f"cannot write {path}")

    def close(self) -> None:
        pass


class WindowSink:
    title = "swapcam"

    def __init__(self, argument: str, stream: Stream, settings: OutputSettings):
        if not has_display():
            raise UserError(f"cannot open a window here (no display): {ELSEWHERE}")
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise UserError(f"cannot open a window here (no display): {ELSEWHERE}") from None
        self.closed_by_user = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        cv2.imshow(self.title, image)
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
        stream: Stream,
        settings: OutputSettings,
        camera_class: Callable | None = None,
    ):
        if camera_class is None:
            import pyvirtualcam

            camera_class = pyvirtualcam.Camera
        from pyvirtualcam import PixelFormat

        try:
            self.camera = camera_class(
                width=stream.width,
                height=stream.height,
                fps=stream.fps,
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

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.camera.send(image)

    def close(self) -> None:
        self.camera.close()


SinkFactory = Callable[[str, Stream, OutputSettings], Sink]


@dataclass(frozen=True)
class OutputKind:
    """One kind of output: how to open it, how it is written on the command line, and what it needs.

    ``any_size``: takes frames of any size (photos at their own size); the others get frames of the
    stream's size, letterboxed when they differ. ``every_frame``: a record that must not lose frames
    (with several outputs it gets a blocking queue in every-frame pacing, and counts what it has to
    drop in live pacing). ``main_thread``: must be written from the thread that runs the loop (GUI
    toolkits, macOS above all, allow windows on the main thread only). ``takes_argument``: something may
    follow ``KIND:`` (a path, an address, auto's candidates); for the others it is refused, not ignored."""

    open: SinkFactory
    usage: str
    any_size: bool = False
    every_frame: bool = False
    main_thread: bool = False
    takes_argument: bool = True


def _open_auto(argument: str, stream: Stream, settings: OutputSettings) -> Sink:
    return resolve_output(f"auto:{argument}" if argument else "auto", stream, settings)[1]


SINKS: Registry[OutputKind] = Registry("output kind")
SINKS.register("auto", BadInput(("--output", "auto:auto"), "lists auto among its candidates"))(
    OutputKind(_open_auto, "auto")
)
SINKS.register(
    "virtualcam", BadInput(("--output", "virtualcam", "--device", "/dev/nope"), "no virtual camera available")
)(OutputKind(VirtualCameraSink, "virtualcam", takes_argument=False))
SINKS.register("window", BadInput(("--output", "window:2"), "output 'window:2' takes nothing after window"))(
    OutputKind(WindowSink, "window", main_thread=True, takes_argument=False)
)
SINKS.register(
    "file",
    BadInput(
        ("--output", "file:{tmp}/missing/out.mp4"),
        "cannot write {tmp}/missing/out.mp4: folder {tmp}/missing does not exist",
    ),
)(OutputKind(FileSink, "file:PATH", every_frame=True))
SINKS.register("images", BadInput(("--output", "images:/proc/nope"), "cannot create output folder /proc/nope"))(
    OutputKind(ImageFolderSink, "images:DIR", any_size=True, every_frame=True)
)
SINKS.register("udp", BadInput(("--output", "udp://nohost"), "needs a host and a port"))(
    OutputKind(UdpSink, "udp://HOST:PORT")
)
SINKS.register("null", BadInput(("--output", "null:x"), "output 'null:x' takes nothing after null"))(
    OutputKind(NullSink, "null", any_size=True, takes_argument=False)
)

#: what ``auto`` tries, in order
AUTO_CANDIDATES = ("virtualcam", "window")


def output_usage() -> str:
    """The output kinds as help text: ``auto | virtualcam | window | file:PATH | images:DIR | udp://HOST:PORT | null``."""
    return " | ".join(SINKS.get(name).usage for name in SINKS)


def output_kind(spec: str) -> OutputKind:
    """The registry entry of ``KIND[:ARGUMENT]``; UserError when the kind is unknown."""
    kind = spec.partition(":")[0]
    if kind not in SINKS:
        raise UserError(f"output {spec!r} is not valid: use {output_usage()}")
    return SINKS.get(kind)


def _problem(message: str) -> str:
    """The problem part of a UserError message: up to its first ': ' outside parentheses, without
    a long parenthetical (a backend's own wording)."""
    depth, opened = 0, 0
    for i, char in enumerate(message):
        if char == "(":
            depth, opened = depth + 1, opened if depth else i
        elif char == ")":
            depth -= 1
            if depth == 0 and i - opened > 40:
                return _problem(message[:opened].rstrip() + message[i + 1 :])
        elif depth == 0 and message.startswith(": ", i):
            return message[:i]
    return message


def resolve_output(spec: str, stream: Stream, settings: OutputSettings) -> tuple[str, Sink, list[str]]:
    """Open ``KIND[:ARGUMENT]`` for ``stream``; returns the output opened (for ``auto``, the
    candidate it chose), its sink, and why the candidates before it did not open."""
    kind = output_kind(spec)
    name, _, argument = spec.partition(":")
    if argument and not kind.takes_argument:
        raise UserError(f"output {spec!r} takes nothing after {name}: write --output {name} (its settings are flags)")
    if name != "auto":
        return spec, kind.open(argument, stream, settings), []
    problems: list[str] = []
    for candidate in argument.split(",") if argument else AUTO_CANDIDATES:
        if output_kind(candidate) is kind:
            raise UserError(f"output {spec!r} lists auto among its candidates: name outputs, e.g. auto:virtualcam,null")
        try:
            return candidate, resolve_output(candidate, stream, settings)[1], problems
        except UserError as err:
            problems.append(f"{candidate}: {_problem(str(err))}")
    raise UserError(f"no output could open here ({'; '.join(problems)}): {ELSEWHERE}")


def open_sink(spec: str, stream: Stream, settings: OutputSettings) -> Sink:
    """Open ``KIND[:ARGUMENT]`` for frames of ``stream``."""
    return resolve_output(spec, stream, settings)[1]
