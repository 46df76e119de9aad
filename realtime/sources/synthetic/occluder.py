"""Occluders for the synthetic camera: a hand that comes up in front of the face, stays a moment and
goes away again, with its ground-truth mask, so that occlusion handling can be measured.

The hand is a flat sprite (palm, four fingers, thumb and forearm, each shaded by its distance to
its own edge so the fingers read as rounded) in the person's skin colour. mediapipe's palm detector
finds it (checked on the synthetic people), as it would a real hand.

Timing: one raise per :data:`PERIOD_S` seconds — up over 0.7 s, held 1.6 s, down over 0.7 s, then
out of view — aimed at a seeded spot of the lower face (a cheek, the mouth or the chin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PERIOD_S = 5.0
_UP_S, _HOLD_S = 0.7, 1.6
# Fingers: (x of the knuckle, length, half-width), in palm widths; the palm spans x -0.5..0.5.
_FINGERS = ((-0.36, 0.80, 0.10), (-0.12, 0.95, 0.11), (0.12, 0.90, 0.11), (0.35, 0.72, 0.095))
_PALM_LENGTH = 1.1
# Where the fingertips aim: FaceMesh points of the right cheek, mouth, chin and left cheek.
_TARGETS = (205, 13, 152, 425)


@dataclass(frozen=True)
class HandSprite:
    """A hand pointing up, wrist at ``wrist`` (x, y) in sprite pixels, forearm below it."""

    image: np.ndarray  # (H, W, 3) float32 BGR 0..255
    alpha: np.ndarray  # (H, W) float32 0..1
    wrist: tuple[float, float]
    length: float  # wrist to the longest fingertip, pixels


def _capsule(mask: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float) -> None:
    """A tapered capsule from p0 (radius r0) to p1 (r1), drawn as overlapping anti-aliased discs."""
    steps = max(2, int(np.hypot(*(p1 - p0)) / max(min(r0, r1), 1.0) * 3))
    for t in np.linspace(0.0, 1.0, steps):
        centre = np.round(((1 - t) * p0 + t * p1) * 16).astype(int)
        cv2.circle(
            mask,
            (int(centre[0]), int(centre[1])),
            int(round(((1 - t) * r0 + t * r1) * 16)),
            (255,),
            -1,
            cv2.LINE_AA,
            4,
        )


def hand_sprite(palm_width: float, skin: tuple[int, int, int]) -> HandSprite:
    """Render a hand whose palm is ``palm_width`` pixels wide, in the BGR colour ``skin``."""
    s = palm_width
    height, width = int(4.4 * s), int(2.6 * s)
    wrist = np.array([1.3 * s, 2.2 * s])

    def at(x: float, y: float) -> np.ndarray:
        return wrist + np.array([x, y]) * s

    parts = []
    arm = np.zeros((height, width), np.uint8)
    _capsule(arm, at(0.0, 0.3), at(0.05, 2.3), 0.42 * s, 0.48 * s)
    parts.append(arm)
    palm = np.zeros((height, width), np.uint8)
    outline = np.array(
        [
            at(-0.45, 0.2),
            at(0.45, 0.2),
            at(0.55, -0.9),
            at(0.5, -_PALM_LENGTH),
            at(-0.5, -_PALM_LENGTH),
            at(-0.55, -0.8),
        ]
    )
    cv2.fillPoly(palm, [np.round(outline * 16).astype(np.int32)], (255,), cv2.LINE_AA, 4)
    parts.append(palm)
    for x, length, half in _FINGERS:
        finger = np.zeros((height, width), np.uint8)
        _capsule(finger, at(x, -1.0), at(1.15 * x, -1.0 - length), half * s, 0.85 * half * s)
        parts.append(finger)
    thumb = np.zeros((height, width), np.uint8)
    _capsule(thumb, at(-0.5, -0.35), at(-0.95, -0.95), 0.13 * s, 0.1 * s)
    parts.append(thumb)
    image = np.zeros((height, width, 3), np.float32)
    alpha = np.zeros((height, width), np.float32)
    colour = np.array(skin, np.float32)
    for part in parts:  # later parts lie over earlier ones, each shaded from its own edge
        a = part.astype(np.float32) / 255.0
        depth = cv2.distanceTransform((part > 127).astype(np.uint8), cv2.DIST_L2, 5)
        shade = 0.55 + 0.45 * np.sqrt(depth / (depth.max() + 1e-6))
        image = image * (1 - a[..., None]) + (colour * shade[..., None]) * a[..., None]
        alpha = np.maximum(alpha, a)
    return HandSprite(image, alpha, (float(wrist[0]), float(wrist[1])), (1.0 + max(f[1] for f in _FINGERS)) * s)


def hand_pose(t: float, landmarks: np.ndarray, sprite: HandSprite, seed: int) -> tuple[np.ndarray, float] | None:
    """(wrist position (2,), angle in degrees) of the hand at ``t`` seconds, or None while it is
    out of view. The raise of cycle k aims at a seeded target of the face."""
    cycle, phase = divmod(t, PERIOD_S)
    if phase >= 2 * _UP_S + _HOLD_S:
        return None
    rng = np.random.default_rng([seed, int(cycle), 0x4A4D])
    target = landmarks[_TARGETS[int(rng.integers(len(_TARGETS)))]]
    angle = float(rng.uniform(-25.0, 25.0))
    up = min(phase / _UP_S, 1.0, (2 * _UP_S + _HOLD_S - phase) / _UP_S)
    up = up * up * (3 - 2 * up)
    direction = np.array([math.sin(math.radians(angle)), math.cos(math.radians(angle))])  # wrist → down
    # raised: the fingertips half a hand past the target; lowered: 2.5 hand lengths further down
    reach = 0.5 * sprite.length + (1.0 - up) * 2.5 * sprite.length
    return target + direction * reach, angle


def draw_hand(image: np.ndarray, t: float, landmarks: np.ndarray, sprite: HandSprite, seed: int) -> np.ndarray:
    """Composite the hand over ``image`` ((H, W, 3) uint8, in place); returns its (H, W) bool mask."""
    height, width = image.shape[:2]
    pose = hand_pose(t, landmarks, sprite, seed)
    if pose is None:
        return np.zeros((height, width), bool)
    wrist, angle = pose
    matrix: np.ndarray = cv2.getRotationMatrix2D(sprite.wrist, -angle, 1.0)
    matrix[:, 2] += wrist - np.array(sprite.wrist)
    alpha = cv2.warpAffine(sprite.alpha, matrix, (width, height))
    colour = cv2.warpAffine(sprite.image, matrix, (width, height))
    blended = image * (1.0 - alpha[..., None]) + colour * alpha[..., None]
    image[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return alpha > 0.5
