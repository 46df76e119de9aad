"""Crop sets: the detector's aligned face crops of a clip, with their landmarks, cached as ``.npz``.

A set holds every ``step``-th frame's largest face (FaceMesh in tracking mode, as ``swapcam
verify`` runs it) cropped by :func:`~swapcam.realtime.provenance.detector.face_crop`, so training
sees crops exactly as verification does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from swapcam.realtime.provenance.detector import CROP_SIZE, MIN_EYES_PX, face_crop
from swapcam.realtime.stages.detect import DetectSettings, face_size, make_detector
from swapcam.realtime.stages.landmarks import inter_ocular

from .clips import Frames


@dataclass(frozen=True)
class CropSet:
    """crops (N, CROP_SIZE, CROP_SIZE, 3) uint8 BGR; landmarks (N, 468, 2) float32 crop pixels;
    frames (N,) int frame index in the clip; fps of the clip (to cut it into 1-s windows)."""

    crops: np.ndarray
    landmarks: np.ndarray
    frames: np.ndarray
    fps: float

    def save(self, path: Path) -> None:
        part = path.with_name(path.stem + ".part.npz")  # renamed when whole
        np.savez(part, crops=self.crops, landmarks=self.landmarks, frames=self.frames, fps=self.fps)
        part.replace(path)

    @classmethod
    def load(cls, path: Path) -> CropSet:
        with np.load(path) as data:
            return cls(data["crops"], data["landmarks"], data["frames"], float(data["fps"]))

    def windows(self, seconds: float = 1.0) -> np.ndarray:
        """(N,) int: the window of each crop."""
        return (self.frames / (self.fps * seconds)).astype(np.int64)


def crop_set(frames: Frames, fps: float, step: int = 3, label: str = "") -> CropSet:
    """Every ``step``-th frame's largest face large enough to judge (frames without one are left out)."""
    mesh = make_detector(DetectSettings(max_faces=1))
    crops, marks, index = [], [], []
    try:
        for i in tqdm(range(0, len(frames), step), desc=label or "crops", unit="frame", leave=False):
            faces = [f for f in mesh(frames[i]) if face_size(f) > 0 and inter_ocular(f) >= MIN_EYES_PX]
            if faces:
                crop, points = face_crop(frames[i], faces[0])
                crops.append(crop)
                marks.append(points)
                index.append(i)
    finally:
        mesh.close()
    if not crops:
        return CropSet(
            np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8),
            np.zeros((0, 468, 2), np.float32),
            np.zeros(0, np.int64),
            fps,
        )
    return CropSet(np.stack(crops), np.stack(marks).astype(np.float32), np.array(index, np.int64), fps)
