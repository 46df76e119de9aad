"""Realism measures: output frames scored against the input frames they were made from.

Pure functions. Frames are (H, W, 3) uint8 BGR; landmarks are mediapipe FaceMesh (468, 2) float
pixel coordinates, or None for a frame where no face was found. Scale-free measures divide by the
input's inter-ocular distance (outer eye corners).

* fidelity (self-swap only, where the output should equal the input): PSNR and SSIM over the face
  (the input's landmark hull);
* expression and pose: landmark error, correlation over the clip of mouth and eye opening, head-pose
  angle error (FaceMesh run on the output as on the input);
* seam: how much the colour step across the face outline changed (CIE ΔE, Lab of sRGB/D65);
* flicker: the output's frame-to-frame change inside the face over the input's, and the same for the
  face's mean colour alone (colour jitter);
* identity (cross swaps): :func:`swapcam.export.identity.identity_share` of the frames' descriptors;
* sharpness: the output's fine detail over the input's (RMS of the Laplacian at a fixed face scale),
  over the face and over the eyes alone: 1 = as sharp as the camera, a smooth face scores low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from swapcam.realtime.stages.color import bgr_to_lab
from swapcam.realtime.stages.landmarks import (
    FACE_OVAL,
    LEFT_EYE,
    RIGHT_EYE,
    eye_opening,
    inter_ocular,
    mouth_opening,
)

# Where the seam is sampled, as fractions of the way from each outline point to the face centre:
# inside at several depths (the feathered edge of the swap lies there), outside just beyond it.
SEAM_INSIDE = (0.04, 0.08, 0.12, 0.16, 0.2)
SEAM_OUTSIDE = 0.05
PSNR_CAP = 99.0  # identical pixels
# Detail is measured with every face resized to this inter-ocular distance (px), so that the ratio
# means the same on a small face and a large one, and a model's output enlarged to a big face is
# judged at the camera's own scale of detail (a few pixels of pores and lashes), not the model's.
DETAIL_IOD = 64.0
# the eye regions: each eye's landmark hull grown by this fraction of the inter-ocular distance, so
# that lids and lashes count
EYE_MARGIN = 0.15
DETAIL_REGIONS = ("face", "eyes")


def hull_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: inside the convex hull of the face outline."""
    return _hull(landmarks[FACE_OVAL], shape).astype(bool)


def _hull(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) uint8 0/1: inside the convex hull of (K, 2) pixel points."""
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (1,), lineType=cv2.LINE_8, shift=4)
    return mask


def _box(mask: np.ndarray, margin: int = 8) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (
        slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, h)),
        slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, w)),
    )


def masked_psnr(output: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB of uint8 images over the pixels of the (H, W) bool mask (all channels)."""
    diff = output[mask].astype(np.float64) - reference[mask].astype(np.float64)
    mse = float((diff * diff).mean()) if diff.size else 0.0
    return PSNR_CAP if mse <= 1e-12 else min(PSNR_CAP, 10.0 * math.log10(255.0**2 / mse))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: Gaussian window σ 1.5, K1 0.01, K2 0.03) of two uint8
    images, averaged over channels: (H, W) float64."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    value = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return value.mean(axis=2) if value.ndim == 3 else value


def masked_ssim(output: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM over the (H, W) bool mask (computed on the mask's box only)."""
    if not mask.any():
        return float("nan")
    rows, cols = _box(mask)
    return float(ssim_map(output[rows, cols], reference[rows, cols])[mask[rows, cols]].mean())


def detail_energies(reference: np.ndarray, output: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Mean squared Laplacian of the grey level, (2 regions: face, eyes; 2 images: reference, output)
    float64, each face first resized so that its inter-ocular distance is DETAIL_IOD pixels.

    The face is the landmark hull; the eyes are both eye hulls grown by EYE_MARGIN × inter-ocular
    distance. Grey levels are 0..255.
    """
    scale = DETAIL_IOD / max(inter_ocular(landmarks), 1e-6)
    rows, cols = _box(hull_mask(landmarks, reference.shape), margin=4)
    points = (landmarks - (cols.start, rows.start)) * scale
    size = (max(1, round((cols.stop - cols.start) * scale)), max(1, round((rows.stop - rows.start) * scale)))
    face = _hull(points[FACE_OVAL], size[::-1])
    eyes = _hull(points[RIGHT_EYE], size[::-1]) | _hull(points[LEFT_EYE], size[::-1])
    grow = int(round(EYE_MARGIN * DETAIL_IOD))
    eyes = cv2.dilate(eyes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    energies = np.zeros((2, 2))
    for k, image in enumerate((reference, output)):
        crop = cv2.cvtColor(np.ascontiguousarray(image[rows, cols]), cv2.COLOR_BGR2GRAY).astype(np.float32)
        grey = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        squared = cv2.Laplacian(grey, cv2.CV_32F, ksize=3) ** 2
        energies[:, k] = [squared[region.astype(bool)].mean() for region in (face, eyes)]
    return energies


def sharpness_ratios(energies: Sequence[np.ndarray]) -> dict[str, float]:
    """Detail of the output over the input's, per region, from per-frame :func:`detail_energies`:
    sqrt(Σ output energy / Σ input energy) — 1 = as much fine detail as the camera, 0 = none."""
    total = np.sum(energies, axis=0) if len(energies) else np.zeros((2, 2))
    return {
        region: float(np.sqrt(out / ref)) if ref > 0 else float("nan")
        for region, (ref, out) in zip(DETAIL_REGIONS, total, strict=True)
    }


def landmark_error(reference: np.ndarray, output: np.ndarray) -> float:
    """Mean distance between corresponding landmarks / the reference's inter-ocular distance."""
    distances = np.hypot(*(output - reference).T)
    return float(distances.mean()) / max(inter_ocular(reference), 1e-6)


def correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation of two series; nan when either is constant or shorter than 3."""
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def pose_error(reference: Sequence[float], output: Sequence[float]) -> float:
    """Mean absolute difference of (yaw, pitch, roll) in degrees."""
    return float(np.abs(np.subtract(output, reference)).mean())


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples (K, C) of a float image at (K, 2) points (replicated border)."""
    xs = points[:, 0].astype(np.float32).reshape(1, -1)
    ys = points[:, 1].astype(np.float32).reshape(1, -1)
    return cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]


def seam_delta_e(reference: np.ndarray, output: np.ndarray, landmarks: np.ndarray) -> float:
    """How much the colour step across the face outline changed from reference to output (ΔE76).

    At every outline point the change in Lab of the output over the reference is taken just inside
    the outline (at the depths of SEAM_INSIDE) and just outside it; the seam is the mean length of
    (inside change − outside change). A face pasted with a colour offset δ scores |δ| however soft
    its edge; an unaltered frame, or one altered everywhere alike, scores 0. Both images are lightly
    blurred (σ = 2 % of the inter-ocular distance) so single noisy pixels do not count.
    """
    iod = inter_ocular(landmarks)
    centre = landmarks.mean(0)
    outline = landmarks[FACE_OVAL]
    inward = centre - outline
    region = np.zeros(reference.shape[:2], bool)
    region[_box(hull_mask(landmarks, reference.shape), margin=int(0.2 * iod) + 4)] = True
    rows, cols = _box(region, margin=0)
    origin = np.array([cols.start, rows.start], np.float32)
    sigma = max(0.02 * iod, 0.8)
    labs = []
    for image in (reference, output):
        crop = np.ascontiguousarray(image[rows, cols]).astype(np.float32) / 255.0
        labs.append(cv2.GaussianBlur(bgr_to_lab(crop), (0, 0), sigma))
    change = labs[1] - labs[0]
    outside = _sample(change, outline - SEAM_OUTSIDE * inward - origin)
    steps = [
        np.linalg.norm(_sample(change, outline + depth * inward - origin) - outside, axis=1) for depth in SEAM_INSIDE
    ]
    return float(np.mean(steps))


def frame_change(previous: np.ndarray, current: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute grey-level change between two frames over the (H, W) bool mask."""
    if not mask.any():
        return 0.0
    rows, cols = _box(mask, margin=0)
    diff = np.abs(current[rows, cols].astype(np.int16) - previous[rows, cols].astype(np.int16))
    return float(diff[mask[rows, cols]].mean())


def flicker_ratio(
    inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], masks: Sequence[np.ndarray | None]
) -> float:
    """Sum over consecutive frames of the output's change inside the face (mask of the later frame)
    over the input's: 1 = the face changes as much as the camera's; > 1 added flicker; < 1 damped."""
    moved_in = moved_out = 0.0
    for t in range(1, len(inputs)):
        mask = masks[t]
        if mask is None:
            continue
        moved_in += frame_change(inputs[t - 1], inputs[t], mask)
        moved_out += frame_change(outputs[t - 1], outputs[t], mask)
    return moved_out / moved_in if moved_in > 0 else float("nan")


def mean_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean CIE Lab (3,) of a uint8 BGR image over the (H, W) bool mask."""
    rows, cols = _box(mask, margin=0)
    lab = bgr_to_lab(np.ascontiguousarray(image[rows, cols]).astype(np.float32) / 255.0)
    return lab[mask[rows, cols]].mean(0)


def color_jitter(
    inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], masks: Sequence[np.ndarray | None]
) -> float:
    """How much the face's mean colour moves from frame to frame in the output over the input (ΔE
    of the mean Lab inside the face, summed over consecutive frames): 1 = as steady as the camera,
    above 1 = the swap adds colour flicker."""
    moved_in = moved_out = 0.0
    for t in range(1, len(inputs)):
        mask, previous = masks[t], masks[t - 1]
        if mask is None or previous is None:
            continue
        both = mask & previous
        if not both.any():
            continue
        moved_in += float(np.linalg.norm(mean_lab(inputs[t], both) - mean_lab(inputs[t - 1], both)))
        moved_out += float(np.linalg.norm(mean_lab(outputs[t], both) - mean_lab(outputs[t - 1], both)))
    return moved_out / moved_in if moved_in > 0 else float("nan")


def occluder_error(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    occluders: np.ndarray,
    landmarks: Sequence[np.ndarray | None],
) -> float:
    """Mean absolute grey-level difference of output and input where a known occluder ((N, H, W)
    bool) covers the face (its landmark hull): 0 when whatever is in front of the face stays there."""
    total = count = 0.0
    for image, output, covered, points in zip(inputs, outputs, occluders, landmarks, strict=False):
        if points is None:
            continue
        region = covered & hull_mask(points, image.shape)
        if region.any():
            total += float(np.abs(output[region].astype(np.int16) - image[region].astype(np.int16)).sum())
            count += region.sum() * image.shape[2]
    return total / count if count else float("nan")


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def openings(landmarks: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """(mouth openings, eye openings) of a sequence of landmark arrays."""
    return [mouth_opening(p) for p in landmarks], [eye_opening(p) for p in landmarks]


def score_sequence(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    input_landmarks: Sequence[np.ndarray | None],
    output_landmarks: Sequence[np.ndarray | None],
    input_poses: Sequence[Sequence[float] | None] | None = None,
    output_poses: Sequence[Sequence[float] | None] | None = None,
    fidelity: bool = False,
) -> dict[str, float]:
    """Every landmark- and pixel-based measure of one clip; frames without an input face are skipped
    and frames whose output has no face count against ``output_face_found``."""
    with_face = [t for t, p in enumerate(input_landmarks) if p is not None]
    both = [t for t in with_face if output_landmarks[t] is not None]
    masks = [None if p is None else hull_mask(p, inputs[0].shape) for p in input_landmarks]
    # by frame, where there is one (a frame has a mask, and a pose, where it has landmarks)
    mask_at = {t: m for t, m in enumerate(masks) if m is not None}
    face_in = {t: p for t, p in enumerate(input_landmarks) if p is not None}
    face_out = {t: p for t, p in enumerate(output_landmarks) if p is not None}
    scores: dict[str, float] = {
        "frames": len(inputs),
        "output_face_found": len(both) / max(len(with_face), 1),
    }
    if fidelity:
        scores["psnr_db"] = _mean([masked_psnr(outputs[t], inputs[t], mask_at[t]) for t in with_face])
        scores["ssim"] = _mean([masked_ssim(outputs[t], inputs[t], mask_at[t]) for t in with_face])
    scores["landmark_error"] = _mean([landmark_error(face_in[t], face_out[t]) for t in both])
    mouth_in, eye_in = openings([face_in[t] for t in both])
    mouth_out, eye_out = openings([face_out[t] for t in both])
    scores["mouth_r"] = correlation(mouth_in, mouth_out)
    scores["eye_r"] = correlation(eye_in, eye_out)
    if input_poses is not None and output_poses is not None:
        pose_in = {t: q for t, q in enumerate(input_poses) if q is not None}
        pose_out = {t: q for t, q in enumerate(output_poses) if q is not None}
        scores["pose_error_deg"] = _mean([pose_error(pose_in[t], pose_out[t]) for t in both])
    scores["seam_delta_e"] = _mean([seam_delta_e(inputs[t], outputs[t], face_in[t]) for t in with_face])
    scores["flicker"] = flicker_ratio(inputs, outputs, masks)
    scores["color_jitter"] = color_jitter(inputs, outputs, masks)
    sharpness = sharpness_ratios([detail_energies(inputs[t], outputs[t], face_in[t]) for t in with_face])
    scores.update({f"sharpness_{region}": value for region, value in sharpness.items()})
    return scores
