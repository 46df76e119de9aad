"""Whose face is this: dlib's ResNet face descriptor (128-D; two photos of one person are usually
< 0.6 apart, of two people > 0.6).

Optional: needs the ``identity`` extra (``pip install 'swapcam[identity]'``: dlib-bin and
face-recognition-models, whose weights ship inside the package, so nothing downloads at run time).
The face is located by mediapipe FaceMesh landmarks the caller already has, not by dlib's detector.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from swapcam.realtime.core.errors import UserError

INSTALL_HINT = "install the identity extra: pip install 'swapcam[identity]'"

# FaceMesh points that bound the box dlib's own detector draws: brows (top), chin (bottom), the
# outline at the temples (sides). dlib's landmark and descriptor models were trained on such boxes.
_BROWS = np.array([70, 63, 105, 66, 107, 336, 296, 334, 293, 300], np.intp)
_CHIN = 152
_SIDES = np.array([234, 454, 127, 356, 93, 323], np.intp)


def available() -> bool:
    return (
        importlib.util.find_spec("dlib") is not None and importlib.util.find_spec("face_recognition_models") is not None
    )


def _models_folder() -> Path:
    # face_recognition_models' own helper imports pkg_resources, which new setuptools no longer has.
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.submodule_search_locations, "call only when available()"
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def dlib_box(landmarks: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in pixels of the box dlib's detector would give, from (468, 2)
    FaceMesh landmarks: temples to temples, brows to chin, made square about its centre and moved
    up by 8 % of its side (on real clips that lands within a few percent of dlib's own boxes)."""
    left, right = landmarks[_SIDES, 0].min(), landmarks[_SIDES, 0].max()
    top, bottom = landmarks[_BROWS, 1].min(), landmarks[_CHIN, 1]
    half = max(right - left, bottom - top) / 2
    cx, cy = (left + right) / 2, (top + bottom) / 2 - 0.16 * half
    return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))


class FaceDescriber:
    """``describe(image, landmarks)`` → (128,) float64 descriptor of the face at those landmarks."""

    def __init__(self):
        if not available():
            raise UserError(f"face identity needs dlib and its models: {INSTALL_HINT}")
        import dlib

        models = _models_folder()
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def describe(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """image: (H, W, 3) uint8 BGR; landmarks: (468, 2) float pixels of one face."""
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        box = self._dlib.rectangle(*dlib_box(landmarks))
        shape = self._shape(rgb, box)
        return np.asarray(self._net.compute_face_descriptor(rgb, shape), np.float64)

    def reference(self, images: list[np.ndarray], landmarks: list[np.ndarray]) -> np.ndarray:
        """Mean descriptor of several pictures of one person: (128,) float64."""
        return np.mean([self.describe(i, p) for i, p in zip(images, landmarks, strict=True)], axis=0)


def identity_share(outputs: np.ndarray, source: np.ndarray, cameras: np.ndarray) -> tuple[float, float, float]:
    """(share of frames nearer the source, mean distance to the source, mean distance to the camera person).

    outputs, cameras: (N, D) face descriptors of the output and input frames; source: (D,), the
    source identity's reference descriptor."""
    to_source = np.linalg.norm(outputs - source, axis=1)
    to_camera = np.linalg.norm(outputs - cameras, axis=1)
    return float((to_source < to_camera).mean()), float(to_source.mean()), float(to_camera.mean())
