"""Mask stage: where the swapped face replaces the camera face, all in aligned (model) space.

Pure core: :func:`hull_mask`, :func:`refine_mask`, :func:`scale_offset_matrix`. Wrapper:
:class:`MaskBuilder` holds the settings and the structuring element.

The blend mask is model mask × landmark-hull mask, then eroded (or dilated), feathered and scaled
by the opacity. The model mask alone can spill onto hair or background; the hull alone ignores
occlusions the model learnt; their product keeps what both agree is face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .settings import Settings, setting

#: mediapipe FaceMesh face-oval indices (the outline the hull mask follows)
FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
], np.intp)


@dataclass(frozen=True)
class MaskSettings(Settings):
    section = "mask"
    model_mask: str = setting("both", "which model masks to use", choices=("both", "face", "celeb", "none"))
    hull: bool = setting(True, "limit the swap to the landmark face outline")
    erode: float = setting(0.02, "shrink (+) or grow (-) the mask, as a fraction of the crop size",
                           low=-0.2, high=0.2, flag="mask-erode")
    blur: float = setting(0.05, "feather width as a fraction of the crop size", low=0.0, high=0.5,
                          flag="mask-blur")
    opacity: float = setting(1.0, "how much of the swapped face shows (0 = none)", low=0.0, high=1.0)
    face_scale: float = setting(1.0, "scale the pasted face about the crop centre", low=0.5, high=1.5)
    face_offset_x: float = setting(0.0, "move the pasted face right, fraction of the crop", low=-0.5, high=0.5)
    face_offset_y: float = setting(0.0, "move the pasted face down, fraction of the crop", low=-0.5, high=0.5)


def hull_mask(points: np.ndarray, size: int) -> np.ndarray:
    """Filled convex hull of ``points`` ((K, 2) float, crop pixels) as (size, size) float32 0/1."""
    mask = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_8, shift=4)
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


def scale_offset_matrix(size: int, scale: float, offset_x: float, offset_y: float) -> np.ndarray:
    """(2, 3) affine in crop pixels that makes the pasted face ``scale`` times larger about the
    crop centre and shifted by the offsets (fractions of the crop). Compose it onto the
    frame→crop matrix before pasting: sampling the crop at A(p) shows the face scaled by 1/A."""
    centre = (size - 1) / 2.0
    inverse = 1.0 / scale
    return np.array([
        [inverse, 0.0, centre - inverse * (centre + offset_x * size)],
        [0.0, inverse, centre - inverse * (centre + offset_y * size)],
    ])


class MaskBuilder:
    def __init__(self, settings: MaskSettings, size: int):
        self.settings = settings
        self.size = size
        self.erode_px = int(round(settings.erode * size))
        self.blur_px = int(round(settings.blur * size))

    def __call__(self, face_mask: np.ndarray, celeb_mask: np.ndarray, aligned_landmarks: np.ndarray) -> np.ndarray:
        """Model masks (R, R) float32 and the face's landmarks in crop pixels → blend alpha (R, R)."""
        choice = self.settings.model_mask
        if choice == "both":
            mask = face_mask * celeb_mask
        elif choice == "face":
            mask = face_mask.copy()
        elif choice == "celeb":
            mask = celeb_mask.copy()
        else:
            mask = np.ones((self.size, self.size), np.float32)
        if self.settings.hull:
            mask *= hull_mask(aligned_landmarks[FACE_OVAL], self.size)
        mask = refine_mask(np.clip(mask, 0.0, 1.0), self.erode_px, self.blur_px)
        if self.settings.opacity != 1.0:
            mask *= self.settings.opacity
        return mask

    def paste_adjustment(self) -> np.ndarray | None:
        s = self.settings
        if (s.face_scale, s.face_offset_x, s.face_offset_y) == (1.0, 0.0, 0.0):
            return None
        return scale_offset_matrix(self.size, s.face_scale, s.face_offset_x, s.face_offset_y)
