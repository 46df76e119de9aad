"""Disclosure label: every frame swapcam outputs says that it was altered, unless turned off.

Pure core: :func:`draw_label` (draws in place). Wrapper: :class:`EditingSink` labels (and marks) every
frame on its way to any sink, so the virtual camera, the window and files all carry it.

The label can be cropped away; the invisible mark (:mod:`.watermark`) and signed recordings
(:mod:`.signing`) are what :class:`ProvenanceSettings` adds to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..core.settings import Settings, setting

if TYPE_CHECKING:
    from ..sinks.base import Sink
    from ..sources.base import Frame


@dataclass(frozen=True)
class ProvenanceSettings(Settings):
    section = "provenance"
    watermark: bool = setting(
        True,
        "invisible mark in every output frame, naming swapcam and the model (swapcam verify finds it, "
        "also after a video call or a re-encode); --no-watermark leaves frames unmarked",
    )
    sign_cert: str | None = setting(
        None, "sign file recordings with C2PA (says: altered by an AI model): PEM certificate chain, signer first"
    )
    sign_key: str | None = setting(None, "the PEM private key of --sign-cert")


def draw_label(image: np.ndarray, text: str) -> None:
    """Write ``text`` in the bottom-left corner of ``image`` ((H, W, 3) uint8 BGR), white on a dark
    box, scaled to the frame height so it stays legible and small at any size."""
    height = image.shape[0]
    scale = max(0.35, height / 1400)
    thickness = max(1, round(scale * 1.5))
    (width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    margin = max(4, round(6 * scale))
    x0, y1 = margin, height - margin
    y0 = y1 - text_height - baseline - 2 * margin
    region = image[max(0, y0) : y1, x0 : x0 + width + 2 * margin]
    region //= 3  # darken rather than cover, so the picture stays visible behind the text
    cv2.putText(
        image,
        text,
        (x0 + margin, y1 - margin - baseline),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )


class EditingSink:
    """Changes every frame in place with ``edit`` (the label, the mark) before it reaches ``sink``:
    once, before the outputs part ways, at the frame's own size (a photo's label lies inside the
    photo, not on a letterbox border)."""

    def __init__(self, sink: Sink, edit: Callable[[np.ndarray], None]):
        self.sink, self.edit = sink, edit

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.edit(image)
        self.sink.write(image, frame)

    def close(self) -> None:
        self.sink.close()

    @property
    def closed_by_user(self) -> bool:
        return self.sink.closed_by_user
