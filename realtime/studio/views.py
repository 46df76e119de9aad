"""The preview's views of one processed frame, as DeepFaceLive shows them: the camera, the aligned face
(what the model sees), the model's output, the final output, and camera | output side by side.

Pure functions of a :class:`Shot`; the web server calls them on its own threads, at the page's rate,
never on the stream's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.registry import Registry

# the preview's widest image (side by side: twice this); the full-size frame is a separate request
PREVIEW_WIDTH = 640
JPEG_QUALITY = 80


@dataclass(frozen=True)
class Shot:
    """One output frame as the views need it. ``number``: frames the studio has output before it and
    it, over every run (a restarted stream counts on). ``aligned``/``rendered``: the last face seen (a
    frame without a face keeps showing it), (R, R, 3) float32 BGR 0..1."""

    number: int
    camera: np.ndarray
    output: np.ndarray
    aligned: np.ndarray | None
    rendered: np.ndarray | None


@dataclass(frozen=True)
class View:
    label: str
    render: Callable[[Shot], np.ndarray]


def _face(crop: np.ndarray | None) -> np.ndarray:
    if crop is None:
        blank = np.full((128, 128, 3), 40, np.uint8)
        cv2.putText(blank, "no face yet", (14, 68), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1, cv2.LINE_AA)
        return blank
    return np.clip(crop * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _side_by_side(shot: Shot) -> np.ndarray:
    camera = shot.camera
    if camera.shape != shot.output.shape:  # photos of their own size: fit the camera to the output
        camera = cv2.resize(camera, shot.output.shape[1::-1], interpolation=cv2.INTER_AREA)
    return np.hstack([camera, shot.output])


VIEWS: Registry[View] = Registry("preview view")
VIEWS.register("output")(View("Output", lambda shot: shot.output))
VIEWS.register("camera")(View("Camera", lambda shot: shot.camera))
VIEWS.register("aligned")(View("Aligned face", lambda shot: _face(shot.aligned)))
VIEWS.register("model")(View("Model output", lambda shot: _face(shot.rendered)))
VIEWS.register("side")(View("Side by side", _side_by_side))


def shrink(image: np.ndarray, max_width: int) -> np.ndarray:
    """``image`` scaled down to at most ``max_width`` wide (never up: the page scales small faces)."""
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, round(height * max_width / width)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def render(shot: Shot, view: str, full_size: bool = False) -> np.ndarray:
    image = VIEWS.get(view).render(shot)
    if full_size:
        return image
    return shrink(image, PREVIEW_WIDTH * (2 if view == "side" else 1))


def encode(image: np.ndarray, kind: str) -> bytes:
    """``image`` as ``jpeg`` (the preview) or ``png`` (lossless, for snapshots and pixel checks)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if kind == "jpeg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, data = cv2.imencode(".jpg" if kind == "jpeg" else ".png", image, params)
    if not ok:
        raise UserError(f"cannot encode the preview as {kind}: try the other format")
    return data.tobytes()
