"""Mask stage: where the swapped face replaces the camera face, all in aligned (model) space.

Pure core: :func:`hull_mask`, :func:`polygon_mask`, :func:`refine_mask`.
Wrapper: :class:`MaskBuilder` holds the settings in pixels.

The face mask is model mask × landmark-hull mask, then eroded (or dilated) and feathered. The model
mask alone can spill onto hair or background; the hull alone ignores occlusions the model learnt;
their product keeps what both agree is face. The blend mask is the face mask with the camera
person's mouth interior and eyes cut out as far as asked (``keep_mouth``, ``keep_eyes``: a model
that cannot render teeth, tongue, gaze or blinks then shows the camera's), scaled by the opacity.
The skin mask (face mask without eyes and mouth) weighs the colour statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..core.registry import Registry
from ..core.settings import Settings, setting
from .align import transform_points
from .base import FaceWork, FrameWork, Stage, StageContext, StageSpec
from .landmarks import FACE_OVAL, LEFT_EYE, MOUTH_INNER, RIGHT_EYE

#: how the model's two masks combine: (out_face_mask, out_celeb_face_mask) → (R, R) float32
MODEL_MASKS: Registry = Registry("model mask")
MODEL_MASKS.register("both")(lambda face, celeb: face * celeb)
MODEL_MASKS.register("face")(lambda face, celeb: face.copy())
MODEL_MASKS.register("celeb")(lambda face, celeb: celeb.copy())
MODEL_MASKS.register("none")(lambda face, celeb: np.ones_like(face))


@dataclass(frozen=True)
class MaskSettings(Settings):
    section = "mask"
    # the paste geometry went with pasting to the blend stage (commit 1d2435b)
    moved = {"face_scale": "blend", "face_offset_x": "blend", "face_offset_y": "blend"}
    model_mask: str = setting("both", "which model masks to use", choices=tuple(MODEL_MASKS.names()))
    hull: bool = setting(True, "limit the swap to the landmark face outline")
    erode: float = setting(
        0.02, "shrink (+) or grow (-) the mask, as a fraction of the crop size", low=-0.2, high=0.2, flag="mask-erode"
    )
    blur: float = setting(0.05, "feather width as a fraction of the crop size", low=0.0, high=0.5, flag="mask-blur")
    opacity: float = setting(1.0, "how much of the swapped face shows (0 = none)", low=0.0, high=1.0)
    # The mouth is kept by default: on real clips the mouth-opening correlation went from 0.64 to 0.92
    # and cross swaps showed the source as often as before. Keeping the eyes too took the eye-opening
    # correlation from 0.2 to 0.82 and self-swap PSNR up 1.7 dB, but with models trained minutes on a
    # CPU it handed the face back: the source in 52 % of the median cross swap's frames (RESULTS.md).
    keep_mouth: float = setting(
        1.0,
        "show the camera person's mouth interior (teeth, tongue) through the swap: 0 = off, 1 = fully",
        low=0.0,
        high=1.0,
    )
    keep_eyes: float = setting(
        0.0, "show the camera person's eyes (gaze, blinks) through the swap: 0 = off, 1 = fully", low=0.0, high=1.0
    )
    feature_grow: float = setting(
        0.01,
        "grow the kept mouth and eye regions by this fraction of the crop (negative shrinks them)",
        low=-0.05,
        high=0.1,
    )


def hull_mask(points: np.ndarray, size: int) -> np.ndarray:
    """Filled convex hull of ``points`` ((K, 2) float, crop pixels) as (size, size) float32 0/1."""
    mask = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (255,), lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32) * (1.0 / 255.0)


def polygon_mask(points: np.ndarray, size: int) -> np.ndarray:
    """Filled polygon (not its hull: the inner lip line is concave) of ``points`` ((K, 2) float,
    crop pixels, in order) as (size, size) float32 0/1."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], (255,), lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32) * (1.0 / 255.0)


def refine_mask(mask: np.ndarray, erode_px: int, blur_px: int) -> np.ndarray:
    """Erode (erode_px > 0) or dilate (< 0) with an ellipse, then Gaussian-feather over blur_px.

    mask: (R, R) float32 0..1. Returns a new (R, R) float32 0..1. The feather is applied after
    pulling the edge in by half the blur width, so a blurred mask does not bleed outside the
    eroded outline.
    """
    shrink = erode_px + blur_px // 2
    if shrink:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(shrink) + 1,) * 2)
        mask = cv2.erode(mask, kernel) if shrink > 0 else cv2.dilate(mask, kernel)
    if blur_px > 0:
        mask = cv2.GaussianBlur(mask, (2 * blur_px + 1,) * 2, sigmaX=blur_px / 2.0)
    return np.clip(mask, 0.0, 1.0)


@dataclass(frozen=True)
class FaceMasks:
    """The mask stage's output, each (R, R) float32 0..1 in aligned space."""

    face: np.ndarray  # the whole swapped face, feathered (its edge is where the seam is)
    alpha: np.ndarray  # the blend mask: face without the kept mouth/eyes, times the opacity
    skin: np.ndarray  # colour-statistics weights: face without eyes and mouth interior (nor occluders)
    visible: np.ndarray | None = None  # 1 − occluders (hands in front of the face); None: nothing in front


class MaskBuilder:
    def __init__(self, settings: MaskSettings, size: int):
        self.settings = settings
        self.size = size
        self.erode_px = int(round(settings.erode * size))
        self.blur_px = int(round(settings.blur * size))
        self.combine = MODEL_MASKS.get(settings.model_mask)
        self.feature_grow_px = int(round(settings.feature_grow * size))
        # the kept regions get a soft edge of their own, ~1.5 % of the crop (2 px at 128)
        self.feature_blur_px = max(1, int(round(0.015 * size)))

    def features(self, aligned_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mouth interior, both eyes), grown and feathered: (R, R) float32 0..1 each."""
        grow, blur = self.feature_grow_px, self.feature_blur_px
        mouth = refine_mask(polygon_mask(aligned_landmarks[MOUTH_INNER], self.size), -grow - blur // 2, blur)
        eyes = np.maximum(
            polygon_mask(aligned_landmarks[RIGHT_EYE], self.size), polygon_mask(aligned_landmarks[LEFT_EYE], self.size)
        )
        return mouth, refine_mask(eyes, -grow - blur // 2, blur)

    def __call__(
        self,
        face_mask: np.ndarray,
        celeb_mask: np.ndarray,
        aligned_landmarks: np.ndarray,
        occluder: np.ndarray | None = None,
    ) -> FaceMasks:
        """Model masks (R, R) float32, the face's landmarks in crop pixels and what covers the face
        ((R, R) float32 0..1, or None) → :class:`FaceMasks`."""
        s = self.settings
        mask = self.combine(face_mask, celeb_mask)
        if s.hull:
            mask *= hull_mask(aligned_landmarks[FACE_OVAL], self.size)
        face = refine_mask(np.clip(mask, 0.0, 1.0), self.erode_px, self.blur_px)
        mouth, eyes = self.features(aligned_landmarks)
        skin = face * (1.0 - mouth) * (1.0 - eyes)
        alpha = face
        visible = None
        if occluder is not None:
            visible = 1.0 - occluder
            skin = skin * visible
            alpha = alpha * visible
        if s.keep_mouth:
            alpha = alpha * (1.0 - s.keep_mouth * mouth)
        if s.keep_eyes:
            alpha = alpha * (1.0 - s.keep_eyes * eyes)
        if s.opacity != 1.0:
            alpha = alpha * s.opacity
        return FaceMasks(face, alpha, skin, visible)


class MaskStage(Stage):
    """Decides where the rendering shows: the model's masks, the face's outline, kept features and
    whatever is in front of the face."""

    def __init__(self, settings: MaskSettings, context: StageContext):
        self.builder = MaskBuilder(settings, context.resolution)

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        size = self.builder.size
        occluder = work.in_front.mask(face.matrix, size) if work.in_front is not None else None
        face.aligned = transform_points(face.matrix, face.landmarks)
        face.masks = self.builder(face.face_mask, face.celeb_mask, face.aligned, occluder)


SPEC = StageSpec(MaskSettings, MaskStage)
