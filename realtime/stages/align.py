"""Align stage: a similarity transform from detected landmarks to a canonical face template.

One function, :func:`align_matrix`, serves the live loop and training extraction alike, so a model
sees crops at train time exactly as it will see them live.

Template space: the rigid landmark subset below (eye contours, brows, nose, upper lip, mouth
corners; no jaw, which moves when the mouth opens) placed in a unit frame where the subset spans
x 0..1 and its bounding box is centred on (0.5, 0.5). A crop of ``coverage`` c holds the square of
side c (in those units) centred on (0.5, 0.5 + y_offset): c = 1 is the inner face from brow to
mouth, the default 2.2 holds the whole head outline with some margin.

The template positions are mediapipe's own landmarks for a frontal synthetic drawing, averaged over
mirror pairs to make them symmetric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.settings import Settings, setting
from .base import FaceWork, FrameWork, Stage, StageContext, StageSpec
from .warp import crop_aligned

_TEMPLATE = {
    33: (0.0995, 0.3298),
    263: (0.9005, 0.3298),
    133: (0.3502, 0.3511),
    362: (0.6498, 0.3511),
    159: (0.2079, 0.2794),
    386: (0.7921, 0.2794),
    145: (0.2182, 0.3750),
    374: (0.7818, 0.3750),
    160: (0.1598, 0.2887),
    387: (0.8402, 0.2887),
    158: (0.2561, 0.2848),
    385: (0.7439, 0.2848),
    144: (0.1715, 0.3685),
    373: (0.8285, 0.3685),
    153: (0.2645, 0.3731),
    380: (0.7355, 0.3731),
    70: (0.0000, 0.1849),
    300: (1.0000, 0.1849),
    63: (0.0524, 0.1253),
    293: (0.9476, 0.1253),
    105: (0.1325, 0.0936),
    334: (0.8675, 0.0936),
    66: (0.2389, 0.0932),
    296: (0.7611, 0.0932),
    107: (0.3653, 0.1076),
    336: (0.6347, 0.1076),
    98: (0.3607, 0.7249),
    327: (0.6393, 0.7249),
    61: (0.2779, 0.9068),
    291: (0.7221, 0.9068),
    37: (0.4355, 0.8412),
    267: (0.5645, 0.8412),
    168: (0.5000, 0.2832),
    6: (0.5000, 0.3636),
    197: (0.5000, 0.4283),
    195: (0.5000, 0.4866),
    5: (0.5000, 0.5493),
    4: (0.5000, 0.6265),
    1: (0.5000, 0.6855),
    2: (0.5000, 0.7396),
    0: (0.5000, 0.8492),
}
#: mediapipe FaceMesh indices used for alignment, and their template positions (K, 2) float64.
ALIGN_INDICES = np.array(list(_TEMPLATE), np.intp)
ALIGN_TEMPLATE = np.array(list(_TEMPLATE.values()), np.float64)


@dataclass(frozen=True)
class AlignSettings(Settings):
    section = "align"
    coverage: float | None = setting(
        None,
        "how much around the face the crop holds (1 = brow to mouth; default: the model card's)",
        low=1.0,
        high=4.0,
    )
    y_offset: float | None = setting(
        None,
        "vertical shift of the crop centre in template units, + moves down (default: the model card's)",
        low=-0.5,
        high=0.5,
    )


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking ``src`` onto ``dst``.

    src, dst: (K, 2) float, K ≥ 2 corresponding points. Returns a (2, 3) float64 matrix A with
    dst ≈ A[:, :2] @ src + A[:, 2] (Umeyama 1991, reflection excluded).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    variance = (src_c**2).sum() / len(src)
    scale = (s * d).sum() / variance if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def align_matrix(landmarks: np.ndarray, size: int, coverage: float, y_offset: float = 0.0) -> np.ndarray:
    """Matrix mapping frame pixels to the aligned crop.

    landmarks: (468, 2) float, frame pixel coordinates in mediapipe order (more points are allowed;
    only :data:`ALIGN_INDICES` are used). size: crop side in pixels. Returns (2, 3) float64 M with
    crop_xy = M @ (x, y, 1); pixel centres at integer coordinates, as in ``cv2.warpAffine``.
    """
    to_template = umeyama(landmarks[ALIGN_INDICES], ALIGN_TEMPLATE)
    # template unit square of side `coverage` around the centre → pixel centres 0..size-1
    scale = size / coverage
    left = 0.5 - coverage / 2
    top = 0.5 + y_offset - coverage / 2
    to_crop = np.array([[scale, 0.0, -left * scale - 0.5], [0.0, scale, -top * scale - 0.5]])
    return compose(to_crop, to_template)


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(2,3) affine ``outer ∘ inner``."""
    out = outer[:, :2] @ inner
    out[:, 2] += outer[:, 2]
    return out


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    linear_inv = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear_inv, -linear_inv @ matrix[:, 2:3]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to (K, 2) points; returns (K, 2) float32."""
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


@dataclass(frozen=True)
class Aligner:
    """Alignment with the coverage and offset resolved (flags override the model card)."""

    size: int
    coverage: float
    y_offset: float

    def matrix(self, landmarks: np.ndarray) -> np.ndarray:
        return align_matrix(landmarks, self.size, self.coverage, self.y_offset)


def make_aligner(settings: AlignSettings, context: StageContext) -> Aligner:
    """Coverage and offset from the settings, else from the model's card."""
    card = context.card
    return Aligner(
        size=context.resolution,
        coverage=settings.coverage if settings.coverage is not None else card.coverage,
        y_offset=settings.y_offset if settings.y_offset is not None else card.y_offset,
    )


class AlignStage(Stage):
    """Cuts each face out of the frame, upright and at the model's resolution."""

    def __init__(self, settings: AlignSettings, context: StageContext):
        self.aligner = make_aligner(settings, context)
        # the aligned crop, written in place and handed to the model as a batch of one
        self._crop = np.zeros((context.resolution, context.resolution, 3), np.float32)

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        face.matrix = self.aligner.matrix(face.landmarks)
        face.crop = crop_aligned(work.image, face.matrix, self.aligner.size, out=self._crop)


SPEC = StageSpec(AlignSettings, AlignStage)
