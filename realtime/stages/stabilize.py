"""Stabilize stage: One Euro filtering of landmarks, so the swapped face does not shimmer.

Pure core: :func:`one_euro_step` (one filter update on arrays). Wrapper: :class:`LandmarkStabilizer`
keeps one filter per tracked face and resets a track when its face is lost.
Casiez, Roussel, Vogel (2012), "1€ Filter". Speeds are measured in face sizes per second, so
``beta`` means the same for a face far from the camera and one close to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.settings import Settings, setting
from .base import FrameWork, Stage, StageContext, StageSpec
from .detect import face_size


@dataclass(frozen=True)
class StabilizeSettings(Settings):
    section = "stabilize"
    smoothing: bool = setting(True, "smooth landmarks over time with a One Euro filter")
    min_cutoff: float = setting(1.5, "One Euro cutoff at rest in Hz: lower = steadier, laggier", low=0.01, high=30.0)
    beta: float = setting(2.0, "One Euro speed coefficient: higher = less lag in fast motion", low=0.0, high=100.0)
    d_cutoff: float = setting(1.0, "cutoff for the speed estimate in Hz", low=0.01, high=30.0)


@dataclass
class OneEuroState:
    value: np.ndarray  # (K, 2) float64 filtered landmarks
    derivative: np.ndarray  # (K, 2) float64 filtered speed, pixels/s
    timestamp: float


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro_step(
    state: OneEuroState | None, points: np.ndarray, timestamp: float, settings: StabilizeSettings
) -> OneEuroState:
    """One update. points: (K, 2) float pixel landmarks at ``timestamp`` seconds.

    Returns the new state; ``state.value`` holds the filtered points. A None state (new track) or a
    non-increasing timestamp starts the filter at the raw points.
    """
    points = np.asarray(points, np.float64)
    if state is None or timestamp <= state.timestamp:
        return OneEuroState(points.copy(), np.zeros_like(points), timestamp)
    dt = timestamp - state.timestamp
    raw_speed = (points - state.value) / dt
    derivative = state.derivative + _alpha(settings.d_cutoff, dt) * (raw_speed - state.derivative)
    speed = np.linalg.norm(derivative, axis=1, keepdims=True) / max(face_size(points), 1.0)
    alpha = _alpha(settings.min_cutoff + settings.beta * speed, dt)
    value = state.value + alpha * (points - state.value)
    return OneEuroState(value, derivative, timestamp)


class LandmarkStabilizer:
    """Per-face One Euro filters; faces are matched to tracks by nearest landmark centroid."""

    def __init__(self, settings: StabilizeSettings):
        self.settings = settings
        self._tracks: list[OneEuroState] = []

    def __call__(self, faces: list[np.ndarray], timestamp: float) -> list[np.ndarray]:
        """faces: list of (K, 2) float32 landmarks → the same faces smoothed, (K, 2) float32."""
        if not self.settings.smoothing:
            return faces
        unmatched = list(self._tracks)
        tracks, smoothed = [], []
        for face in faces:
            previous = self._nearest(unmatched, face)
            if previous is not None:
                unmatched.remove(previous)
            state = one_euro_step(previous, face, timestamp, self.settings)
            tracks.append(state)
            smoothed.append(state.value.astype(np.float32))
        # tracks left unmatched are faces that were lost: dropping them resets their filter
        self._tracks = tracks
        return smoothed

    def reset(self) -> None:
        """Forget every track (the next frame is unrelated to this one)."""
        self._tracks = []

    @staticmethod
    def _nearest(tracks: list[OneEuroState], face: np.ndarray) -> OneEuroState | None:
        centre = face.mean(0)
        best, best_distance = None, 0.25 * face_size(face)
        for track in tracks:
            distance = float(np.linalg.norm(track.value.mean(0) - centre))
            if distance < best_distance:
                best, best_distance = track, distance
        return best


class StabilizeStage(Stage):
    """Smooths each tracked face's landmarks over time."""

    def __init__(self, settings: StabilizeSettings, context: StageContext):
        self.stabilizer = LandmarkStabilizer(settings)

    def on_frame(self, work: FrameWork) -> None:
        work.faces = self.stabilizer(work.faces, work.media_time)

    def reset(self) -> None:
        self.stabilizer.reset()


SPEC = StageSpec(StabilizeSettings, StabilizeStage)
