"""Blend stage, in aligned space: make the swapped face meet the camera face without a visible edge,
and restore some of the detail the model's small crop loses, before it is pasted back.

Pure core: :func:`match_boundary`, :func:`sharpen`, :func:`scale_offset_matrix`. Wrapper: :class:`Blender`
(settings in pixels), which also pastes the face back into the frame.

* ``seamless`` (boundary matching): the difference between the camera face and the swapped face
  is measured along the feathered edge of the face mask and spread smoothly over the face
  (normalised Gaussian convolution: each pixel gets the distance-weighted average of the edge
  differences around it) and added to the swapped face. Its low frequencies then meet the camera's
  at the edge, as in gradient-domain (Poisson) cloning, while its features stay the model's: the
  correction is as smooth as the Gaussian is wide. ``alpha`` pastes the face as it comes.
* ``sharpen``: an unsharp mask on the swapped face. The model's crop is enlarged 2.5–3× onto a
  720p face, and bilinear enlargement softens it further.
* ``detail``: keep that share of the camera's own detail finer than the model's resolution (skin
  texture) on the swapped face's skin, away from the eyes, brows, nose tip and lips, whose shapes
  belong to the swapped identity. It is added during the paste, at the frame's resolution
  (:func:`swapcam.realtime.stages.warp.paste_back`); this stage makes its mask (:meth:`Blender.detail_mask`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.registry import Registry
from ..core.settings import Settings, setting
from .align import compose
from .base import FaceWork, FrameWork, Stage, StageContext, StageSpec
from .landmarks import LEFT_BROW, LEFT_EYE, LIPS, NOSE_TIP, RIGHT_BROW, RIGHT_EYE
from .mask import hull_mask, polygon_mask, refine_mask
from .temporal import TrackAverage
from .warp import paste_back

# Edge differences much larger than the typical one (this many times it) count little; below the
# floor (0..1 units, ~8 grey levels) every difference counts fully.
_ROBUST_SCALE = 2.0
_ROBUST_FLOOR = 0.03
# Keeps the normalised convolution finite far from any edge (it then tends to the mean difference).
_EPS = 1e-4


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)


def boundary_correction(
    face: np.ndarray, reference: np.ndarray, mask: np.ndarray, sigma: float, visible: np.ndarray | None = None
) -> np.ndarray | None:
    """A smooth colour correction that, added to the face, makes it meet ``reference`` along the
    mask's edge.

    face, reference: (R, R, 3) float32 0..1 BGR; mask: (R, R) float32 0..1, feathered; sigma: width
    of the correction's smoothing in pixels. The edge weight ``4 m (1 − m)`` is 1 halfway through
    the feather and 0 inside and outside it; ``visible`` ((R, R) 0..1, optional) removes the parts
    of the edge that something in front of the face covers. Returns (R, R, 3) float32, or None
    when the mask has no feathered edge to measure.

    The correction is the edge's differences interpolated over the whole face (normalised
    convolution), as a membrane (Poisson) fill would: away from the edge it is the average of the
    nearest edge differences. Differences far larger than the edge's typical one (glasses, hair,
    a hand) are muted (:func:`_robust_weights`). (A variant that faded it out towards the middle, keeping the model's
    own colours there, showed the source in fewer cross-swap frames: 80–94 % against 100 %.)
    """
    edge = 4.0 * mask * (1.0 - mask)
    if visible is not None:
        edge = edge * visible
    if float(edge.sum()) < 1.0:
        return None
    difference = reference - face
    edge = edge * _robust_weights(difference, edge)
    total = float(edge.sum())
    mean = (difference * edge[..., None]).sum((0, 1)) / total
    weights = _blur(edge, sigma) + _EPS
    return ((_blur(difference * edge[..., None], sigma) + _EPS * mean) / weights[..., None]).astype(np.float32)


def _robust_weights(difference: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Cauchy weights (R, R) that let the edge's typical colour difference through and mute the
    outliers: glasses frames, strands of hair or a hand crossing the edge are not skin to match, and
    spread over the face they darkened it into somebody else (identity of d10 → d12 0.02)."""
    size = np.sqrt((difference * difference).sum(axis=2))
    typical = float(np.median(size[edge > 0.5])) if (edge > 0.5).any() else float(size.mean())
    scale = max(_ROBUST_SCALE * typical, _ROBUST_FLOOR)
    return 1.0 / (1.0 + (size / scale) ** 2)


def match_boundary(
    face: np.ndarray, reference: np.ndarray, mask: np.ndarray, sigma: float, visible: np.ndarray | None = None
) -> np.ndarray:
    """The face plus its :func:`boundary_correction`, clipped to 0..1 (the face itself when there is
    no edge)."""
    correction = boundary_correction(face, reference, mask, sigma, visible)
    return face if correction is None else _corrected(face, correction)


def _corrected(face: np.ndarray, correction: np.ndarray) -> np.ndarray:
    out = face + correction
    np.clip(out, 0.0, 1.0, out=out)
    return out


def sharpen(face: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask: ``face + amount (face − blur(face))``, (R, R, 3) float32 clipped to 0..1."""
    if amount <= 0:
        return face
    out = face + amount * (face - _blur(face, sigma))
    np.clip(out, 0.0, 1.0, out=out)
    return out


#: blend mode → its correction of the face before pasting (None: the face as it is)
BlendMode = Callable[[np.ndarray, np.ndarray, np.ndarray, float, "np.ndarray | None"], "np.ndarray | None"]
BLEND_MODES: Registry[BlendMode] = Registry("blend mode")


@BLEND_MODES.register("alpha")
def _no_correction(
    face: np.ndarray, reference: np.ndarray, mask: np.ndarray, sigma: float, visible: np.ndarray | None = None
) -> None:
    """No correction: the face is pasted as it is."""


BLEND_MODES.register("seamless")(boundary_correction)


def scale_offset_matrix(size: int, scale: float, offset_x: float, offset_y: float) -> np.ndarray:
    """(2, 3) affine in crop pixels that makes the pasted face ``scale`` times larger about the
    crop centre and shifted by the offsets (fractions of the crop). Compose it onto the
    frame→crop matrix before pasting: sampling the crop at A(p) shows the face scaled by 1/A."""
    centre = (size - 1) / 2.0
    inverse = 1.0 / scale
    return np.array(
        [
            [inverse, 0.0, centre - inverse * (centre + offset_x * size)],
            [0.0, inverse, centre - inverse * (centre + offset_y * size)],
        ]
    )


@dataclass(frozen=True)
class BlendSettings(Settings):
    section = "blend"
    # Defaults chosen by the quality benchmark on three models and twelve real cases (RESULTS.md):
    # seamless at 0.10 took the seam under 1 ΔE (1.23 pasted as is); narrower hid it better but handed
    # the camera person's face back (at 0.06 one cross swap showed the source in 14 % of frames, at
    # 0.02 on d6 12 %); averaging kept the colour jitter it adds below the camera's own.
    mode: str = setting(
        "seamless",
        "alpha: paste the face as the model made it; seamless: match its colour to the "
        "camera's along the mask edge, smoothly spread over the face",
        choices=tuple(BLEND_MODES.names()),
        flag="blend",
    )
    seam_width: float = setting(
        0.1, "how far into the face the seamless correction spreads, as a fraction of the crop size", low=0.01, high=0.5
    )
    seam_smoothing: float = setting(
        0.3,
        "average the seamless correction over this many seconds (a time "
        "constant), so the face's edge colour does not flicker; 0 = per frame",
        low=0.0,
        high=5.0,
    )
    sharpen: float = setting(0.0, "unsharp-mask amount on the swapped face (0 = off)", low=0.0, high=3.0)
    detail: float = setting(
        0.0,
        "keep this share of the camera's fine skin texture, finer than the model can "
        "render, on the swapped face's skin (0 = off)",
        low=0.0,
        high=1.0,
    )
    face_scale: float = setting(1.0, "scale the pasted face about the crop centre", low=0.5, high=1.5)
    face_offset_x: float = setting(0.0, "move the pasted face right, fraction of the crop", low=-0.5, high=0.5)
    face_offset_y: float = setting(0.0, "move the pasted face down, fraction of the crop", low=-0.5, high=0.5)


class Blender:
    def __init__(self, settings: BlendSettings, size: int):
        self.settings = settings
        self.mode = BLEND_MODES.get(settings.mode)
        self.sigma = settings.seam_width * size
        self.size = size
        self._average = TrackAverage(settings.seam_smoothing)
        # features keep the swapped identity's own detail: grown by ~4 % of the crop, soft edges
        self._feature_grow = max(1, int(round(0.04 * size)))
        moved = (settings.face_scale, settings.face_offset_x, settings.face_offset_y) != (1.0, 0.0, 0.0)
        self._paste_adjustment = (
            scale_offset_matrix(size, settings.face_scale, settings.face_offset_x, settings.face_offset_y)
            if moved
            else None
        )

    def __call__(
        self,
        face: np.ndarray,
        reference: np.ndarray,
        face_mask: np.ndarray,
        visible: np.ndarray | None = None,
        media_time: float = 0.0,
        track: int = 0,
    ) -> np.ndarray:
        """face, reference (R, R, 3) float32, face_mask and visible (R, R) float32 → the face to paste.
        The correction of each tracked face is averaged over its recent frames (aligned space moves
        with the face, so the same pixel stays the same place on it)."""
        correction = self.mode(face, reference, face_mask, self.sigma, visible)
        if correction is not None:
            (correction,) = self._average((correction,), media_time, track)
            face = _corrected(face, correction)
        return sharpen(face, self.settings.sharpen)

    def reset(self) -> None:
        """Forget every track (no face in the frame)."""
        self._average.reset()

    def detail_mask(self, skin: np.ndarray, aligned_landmarks: np.ndarray) -> np.ndarray | None:
        """Where (and how much of) the camera's fine detail stays: the skin mask (R, R) away from
        eyes, brows, nose tip and lips, times the detail share; None when detail is off."""
        if self.settings.detail <= 0:
            return None
        features = np.zeros((self.size, self.size), np.float32)
        for loop in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, LIPS):
            np.maximum(features, polygon_mask(aligned_landmarks[loop], self.size), out=features)
        np.maximum(features, hull_mask(aligned_landmarks[NOSE_TIP], self.size), out=features)
        grow = self._feature_grow
        features = refine_mask(features, -grow - grow // 2, grow)
        return (skin * (1.0 - features) * self.settings.detail).astype(np.float32)

    def paste(
        self, image: np.ndarray, face: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, detail: np.ndarray | None
    ) -> None:
        """Paste the face (R, R, 3) with ``alpha`` (R, R) into ``image`` (H, W, 3) uint8 in place, through
        the frame→crop ``matrix`` (2, 3), moved and scaled as the settings ask."""
        if self._paste_adjustment is not None:
            matrix = compose(self._paste_adjustment, matrix)
        paste_back(image, face, alpha, matrix, detail_mask=detail)


class BlendStage(Stage):
    """Corrects each face's seam and pastes every face back into the frame."""

    def __init__(self, settings: BlendSettings, context: StageContext):
        self.blender = Blender(settings, context.resolution)

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        masks = face.masks
        face.face = self.blender(face.face, face.crop, masks.face, masks.visible, work.media_time, face.track)
        face.detail = self.blender.detail_mask(masks.skin, face.aligned)

    def on_paste(self, work: FrameWork) -> None:
        # only once every face succeeded, so a fault leaves the original frame untouched
        for face in work.done:
            self.blender.paste(work.image, face.face, face.masks.alpha, face.matrix, face.detail)

    def reset(self) -> None:
        self.blender.reset()

    no_face = reset


SPEC = StageSpec(BlendSettings, BlendStage)
