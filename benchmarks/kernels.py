"""Kernels: the Numba warps against OpenCV doing the same job, and each colour transfer mode.

Ratios are Numba time / baseline time, measured in the same process on the same inputs (< 1 means
Numba is faster). The paste-back baseline is the cv2 + NumPy sequence a straightforward pipeline
uses: warp the face and the mask onto the whole frame, then blend in float. The mask is a feathered
face-sized ellipse, as the live mask stage makes, so the fused kernel's mask-bounded box is measured
as it runs live.
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from swapcam.realtime.core.timing import median_ms
from swapcam.realtime.stages.color import COLOR_TRANSFERS
from swapcam.realtime.stages.warp import crop_aligned, paste_back

from .common import Results

FRAME = (720, 1280)


def _similarity(size: int, face_px: float, angle_deg: float = 12.0) -> np.ndarray:
    """Frame→crop matrix for a face ``face_px`` wide at the frame centre, crop of ``size``."""
    scale = size / (2.2 * face_px)
    a = np.deg2rad(angle_deg)
    linear = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.array([FRAME[1] / 2, FRAME[0] / 2])
    return np.hstack([linear, ((size - 1) / 2 - linear @ centre)[:, None]])


def _face_mask(size: int) -> np.ndarray:
    """(size, size) float32: a feathered face-hull ellipse where coverage 2.2 puts it in the crop."""
    mask = np.zeros((size, size), np.float32)
    centre, axes = (size // 2, int(size * 0.53)), (int(size * 0.23), int(size * 0.30))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, (1.0,), -1)
    blur = size // 16 * 2 + 1
    return cv2.GaussianBlur(mask, (blur, blur), 0)


def _cv2_crop(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(
        np.float32
    ) * (1 / 255)


def _cv2_paste(target: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray) -> None:
    h, w = target.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(face, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(mask, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)[..., None]
    blended = target * (1 - alpha) + warped * 255 * alpha
    np.copyto(target, np.clip(blended + 0.5, 0, 255).astype(np.uint8))


def run(quick: bool) -> Results:
    repeat = 30 if quick else 400
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (*FRAME, 3), dtype=np.uint8)
    results: Results = {}
    for size in (128, 224):
        matrix = _similarity(size, 300.0)
        crop = np.empty((size, size, 3), np.float32)

        numba_ms = median_ms(partial(crop_aligned, frame, matrix, size, out=crop), repeat)
        cv2_ms = median_ms(partial(_cv2_crop, frame, matrix, size), repeat)
        results[f"crop_{size}"] = {
            "numba_ms": round(numba_ms, 4),
            "cv2_ms": round(cv2_ms, 4),
            "ratio": round(numba_ms / cv2_ms, 3),
        }

        face = rng.random((size, size, 3), dtype=np.float32)
        mask = _face_mask(size)
        target = frame.copy()

        args = (target, face, mask, matrix)
        fused_ms = median_ms(partial(paste_back, *args), repeat)
        sequence_ms = median_ms(partial(_cv2_paste, *args), max(5, repeat // 4))
        results[f"paste_{size}"] = {
            "fused_ms": round(fused_ms, 4),
            "cv2_numpy_ms": round(sequence_ms, 4),
            "speedup": round(sequence_ms / fused_ms, 2),
        }

    size = 128
    face = rng.random((size, size, 3), dtype=np.float32)
    reference = rng.random((size, size, 3), dtype=np.float32) * 0.6 + 0.2
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (64, 64), (44, 56), 0, 0, 360, (1.0,), -1)
    results["color_128_ms"] = {
        mode: round(median_ms(partial(COLOR_TRANSFERS.get(mode), face, reference, mask), repeat), 4)
        for mode in COLOR_TRANSFERS
    }
    return results


def markdown(results: Results) -> list[str]:
    lines = ["| kernel | Numba ms | baseline ms | ratio (Numba/baseline) |", "|---|---|---|---|"]
    for key, value in results.items():
        if key.startswith("crop_"):
            lines.append(
                f"| aligned crop {key[5:]} px (vs cv2.warpAffine) | {value['numba_ms']:.3f} | "
                f"{value['cv2_ms']:.3f} | {value['ratio']:.2f} |"
            )
        elif key.startswith("paste_"):
            lines.append(
                f"| fused paste-back {key[6:]} px (vs cv2 + NumPy) | {value['fused_ms']:.3f} | "
                f"{value['cv2_numpy_ms']:.3f} | {1 / value['speedup']:.3f} ({value['speedup']:.1f}× faster) |"
            )
    colors = results["color_128_ms"]
    lines += ["", "| colour mode (128 px) | ms |", "|---|---|"]
    lines += [f"| {mode} | {ms:.3f} |" for mode, ms in colors.items()]
    return lines
