"""The sink contract: where processed frames go, the stream they are opened for, and the output settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from ..core.settings import Settings, setting
from .codecs import CODECS, codec_help

if TYPE_CHECKING:
    from ..sources.base import Frame


DEFAULT_LABEL = "AI-altered video (swapcam)"


@dataclass(frozen=True)
class OutputSettings(Settings):
    section = "output"
    device: str | None = setting(None, "virtual camera device, e.g. /dev/video10 (default: the first free one)")
    backend: str | None = setting(None, "pyvirtualcam backend: v4l2loopback, obs or unitycapture (default: auto)")
    codec: str = setting(
        "h264", f"video codec of file outputs ({codec_help()}); udp streams are H.264", choices=tuple(CODECS.names())
    )
    bitrate: int = setting(
        0,
        "video bitrate in kbit/s of file outputs (0 = the codec's constant quality) and udp streams "
        "(0 = about 0.1 bit a pixel, 3.3 Mbit/s at 720p30)",
        low=0,
        high=500_000,
    )
    label: str = setting(
        DEFAULT_LABEL,
        "disclosure label drawn on every output frame "
        '("" to leave frames unlabelled, e.g. when the call itself discloses it)',
    )


@dataclass(frozen=True)
class Stream:
    """What outputs are opened for: the frame size and rate, whether frames may be dropped on the way
    (``live``), and the input's file or folder (``source``; None for cameras and synthetic input),
    ``looped`` when it restarts at its end."""

    width: int
    height: int
    fps: float
    live: bool = True
    source: Path | None = None
    looped: bool = False


class Sink(Protocol):
    @property
    def closed_by_user(self) -> bool:
        """The viewer closed the output (a window's q or Esc): the run ends."""

    def write(self, image: np.ndarray, frame: Frame) -> None:
        """image: (H, W, 3) uint8 BGR, the processed ``frame`` (its index, name and media time)."""

    def close(self) -> None: ...


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """image (h, w, 3) uint8 scaled to fit a (height, width, 3) frame, its aspect ratio kept,
    centred on black."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    fit_w, fit_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fit_w) // 2, (height - fit_h) // 2
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[y : y + fit_h, x : x + fit_w] = cv2.resize(image, (fit_w, fit_h), interpolation=interpolation)
    return canvas


class FittedSink:
    """A sink that needs one frame size: frames of another size (photos) arrive letterboxed."""

    def __init__(self, sink: Sink, width: int, height: int):
        self.sink, self.width, self.height = sink, width, height

    @property
    def closed_by_user(self) -> bool:
        return self.sink.closed_by_user

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if image.shape[:2] != (self.height, self.width):
            image = letterbox(image, self.width, self.height)
        self.sink.write(image, frame)

    def close(self) -> None:
        self.sink.close()
