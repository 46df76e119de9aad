"""Self-blended faces (after Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images",
CVPR 2022): a face blended back onto itself after a small change of colour, sharpness, resolution and
geometry, inside a feathered landmark mask. It carries what every blended swap leaves (a seam, a
colour step, a softer or sharper inside) with no swap model and no second identity.

Pure: arrays and a numpy Generator in, arrays out.
"""

from __future__ import annotations

import cv2
import numpy as np

from swapcam.realtime.stages.landmarks import FACE_OVAL

OPACITIES = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)  # SBI's blend ratios: most swaps paste the face whole


def _changed(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The face's altered copy: colour, then sharpness or resolution, then a small shift and scale."""
    size = crop.shape[0]
    face: np.ndarray = crop.astype(np.float32) * rng.uniform(0.92, 1.08, 3) + rng.uniform(-12, 12, 3)
    kind = rng.integers(3)
    if kind == 0:  # softer, as a model's face upscaled to the frame is
        factor = rng.uniform(0.3, 0.8)
        small = cv2.resize(face, (max(8, round(size * factor)),) * 2, interpolation=cv2.INTER_AREA)
        face = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    elif kind == 1:
        face = cv2.GaussianBlur(face, (0, 0), rng.uniform(0.6, 1.6))
    else:  # sharper (a swap sharpened to hide its softness)
        face = face + rng.uniform(0.3, 1.0) * (face - cv2.GaussianBlur(face, (0, 0), 1.2))
    scale = rng.uniform(0.96, 1.04)
    shift = rng.uniform(-0.025, 0.025, 2) * size
    matrix = np.array(cv2.getRotationMatrix2D((size / 2, size / 2), 0.0, scale), np.float64)
    matrix[:, 2] += shift
    return cv2.warpAffine(face, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)


def blend_mask(landmarks: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) float32 0..1: the face outline's hull, shrunk a little at random, eroded or
    dilated, feathered and scaled by an opacity."""
    oval = landmarks[FACE_OVAL].astype(np.float64)
    centre = landmarks.mean(0)
    oval = centre + (oval - centre) * rng.uniform(0.8, 1.02, 2)
    mask: np.ndarray = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, np.round(oval).astype(np.int32), (1.0,))
    grow = int(rng.integers(-6, 4))
    if grow:
        kernel = np.ones((2 * abs(grow) + 1,) * 2, np.uint8)
        mask = cv2.dilate(mask, kernel) if grow > 0 else cv2.erode(mask, kernel)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(1.5, 8.0))
    return mask * float(rng.choice(OPACITIES))


def self_blend(crop: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """crop (S, S, 3) uint8 BGR, landmarks (468, 2) float crop pixels → the self-blended crop
    (S, S, 3) uint8."""
    mask = blend_mask(landmarks, crop.shape[0], rng)[..., None]
    out = mask * _changed(crop, rng) + (1.0 - mask) * crop.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
