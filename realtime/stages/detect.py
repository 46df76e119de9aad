"""Detect stage: 468 FaceMesh landmarks per face, and which faces to swap.

Pure core: :func:`choose_faces` (landmark arrays in, the chosen ones out). Wrapper:
:class:`MediapipeDetector` runs mediapipe FaceMesh in tracking mode (its face detector runs only
when tracking is lost, which is what makes it cheap on a video stream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..core.registry import BadInput, Registry
from ..core.settings import Settings, setting
from .base import FrameWork, Stage, StageContext, StageSpec

N_LANDMARKS = 468


def face_size(landmarks: np.ndarray) -> float:
    """Diagonal of the landmarks' bounding box, in pixels."""
    span = landmarks.max(0) - landmarks.min(0)
    return float(np.hypot(span[0], span[1]))


def _largest(faces: list[np.ndarray], _frame_shape: tuple[int, ...]) -> list[np.ndarray]:
    return [max(faces, key=face_size)]


def _centre(faces: list[np.ndarray], frame_shape: tuple[int, ...]) -> list[np.ndarray]:
    middle = np.array([frame_shape[1] / 2, frame_shape[0] / 2])
    return [min(faces, key=lambda f: float(np.linalg.norm(f.mean(0) - middle)))]


def _all(faces: list[np.ndarray], _frame_shape: tuple[int, ...]) -> list[np.ndarray]:
    return sorted(faces, key=face_size, reverse=True)


FACE_CHOICES: Registry[Callable[[list[np.ndarray], tuple[int, ...]], list[np.ndarray]]] = Registry("face choice")
FACE_CHOICES.register("largest")(_largest)
FACE_CHOICES.register("centre")(_centre)
FACE_CHOICES.register("all")(_all)


def choose_faces(faces: list[np.ndarray], frame_shape: tuple[int, ...], choice: str) -> list[np.ndarray]:
    """Pick the faces to swap.

    faces: list of (468, 2) float32 pixel landmarks; frame_shape: (H, W). ``largest`` and ``centre``
    return one face (or none), ``all`` returns every face, largest first.
    """
    if not faces:
        return []
    return FACE_CHOICES.get(choice)(faces, frame_shape)


class Detector(Protocol):
    def __call__(self, frame: np.ndarray) -> list[np.ndarray]:
        """frame (H, W, 3) uint8 BGR → list of (468, 2) float32 pixel landmarks."""

    def close(self) -> None: ...


class MediapipeRunner:
    """A mediapipe solution (FaceMesh, Hands, …) fed BGR frames through one reused RGB buffer, its
    landmark lists read back in pixels."""

    def __init__(self, solution):
        self._solution = solution
        self._rgb: np.ndarray | None = None

    def landmarks(self, frame: np.ndarray, field: str, count: int) -> list[np.ndarray]:
        """frame (H, W, 3) uint8 BGR → the first ``count`` points of each landmark list in the
        result's ``field`` (e.g. multi_face_landmarks), as (count, 2) float32 pixel coordinates."""
        height, width = frame.shape[:2]
        if self._rgb is None or self._rgb.shape != frame.shape:
            self._rgb = np.empty_like(frame)
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=self._rgb)
        result = self._solution.process(self._rgb)
        found = []
        for item in getattr(result, field) or ():
            points = np.array([(p.x, p.y) for p in item.landmark[:count]], np.float32)
            points *= (width, height)
            found.append(points)
        return found

    def close(self) -> None:
        self._solution.close()


class MediapipeDetector:
    """mediapipe FaceMesh (legacy solution API): tracking mode for video, ``static`` for unrelated
    photos (every image gets the full detector)."""

    def __init__(self, settings: DetectSettings, static: bool = False):
        import mediapipe as mp

        self._mesh = MediapipeRunner(
            mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=settings.max_faces,
                refine_landmarks=False,
                min_detection_confidence=settings.min_confidence,
                min_tracking_confidence=settings.min_tracking,
            )
        )

    def __call__(self, frame: np.ndarray) -> list[np.ndarray]:
        return self._mesh.landmarks(frame, "multi_face_landmarks", N_LANDMARKS)

    def close(self) -> None:
        self._mesh.close()


# a detector is made from its settings and whether frames are unrelated photos (static)
DETECTORS: Registry[Callable[[DetectSettings, bool], Detector]] = Registry("detector")
DETECTORS.register(
    "mediapipe",
    BadInput(("--detector", "mediapipe", "--max-faces", "9"), "--max-faces 9 is out of range: use a value from 1 to 8"),
)(MediapipeDetector)


@dataclass(frozen=True)
class DetectSettings(Settings):
    section = "detect"
    detector: str = setting("mediapipe", "landmark detector", choices=tuple(DETECTORS.names()))
    max_faces: int = setting(1, "most faces to track", low=1, high=8)
    choose: str = setting("largest", "which faces to swap", choices=tuple(FACE_CHOICES.names()))
    min_confidence: float = setting(0.5, "face detector confidence to start a track", low=0.05, high=0.99)
    min_tracking: float = setting(0.5, "landmark confidence to keep a track without re-detecting", low=0.05, high=0.99)


def make_detector(settings: DetectSettings, static: bool = False) -> Detector:
    """``static``: the frames are unrelated photos, so each is searched anew (no tracking)."""
    return DETECTORS.get(settings.detector)(settings, static)


class DetectStage(Stage):
    """Finds the faces of each frame and picks the ones to swap."""

    def __init__(self, settings: DetectSettings, context: StageContext):
        self.detector = make_detector(settings, static=context.still_images)
        self.choose = settings.choose

    def on_frame(self, work: FrameWork) -> None:
        work.faces = choose_faces(self.detector(work.image), work.image.shape[:2], self.choose)

    def close(self) -> None:
        self.detector.close()


SPEC = StageSpec(DetectSettings, DetectStage)
