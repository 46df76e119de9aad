"""What a call or an upload does to a face crop, drawn at random for training: a lower resolution,
JPEG, noise, a mirror. Pure: arrays and a numpy Generator in, arrays out."""

from __future__ import annotations

import cv2
import numpy as np


def degrade(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """crop (S, S, 3) uint8 → (S, S, 3) uint8, left as it is a quarter of the time."""
    size = crop.shape[0]
    out = crop[:, ::-1] if rng.random() < 0.5 else crop
    if rng.random() < 0.25:
        return np.ascontiguousarray(out)
    if rng.random() < 0.6:  # the face smaller in the frame, or the frame halved, then enlarged again
        side = max(24, round(size * rng.uniform(0.3, 0.9)))
        out = cv2.resize(out, (side, side), interpolation=cv2.INTER_AREA)
        out = cv2.resize(out, (size, size), interpolation=int(rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC])))
    if rng.random() < 0.2:
        noise = rng.normal(0, rng.uniform(1, 5), out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:  # H.264 at a call's bitrate blocks and smooths like JPEG at 30-80
        quality = int(rng.integers(30, 95))
        out = cv2.imdecode(cv2.imencode(".jpg", np.ascontiguousarray(out), [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 1)
    return np.ascontiguousarray(out)
