"""Detect stage: 468 FaceMesh landmarks per face, and which faces to swap.

Pure core: :func:`choose_faces` (landmark arrays in, the chosen ones out). Wrappers, in
:data:`DETECTORS`:

* ``facemesh`` (:class:`FaceMeshDetector`): mediapipe FaceMesh on the whole frame, in tracking mode
  for video (its face detector runs only when tracking is lost, which is what makes it cheap on a
  video stream), static for unrelated photos. Its detector is mediapipe's short-range model: in
  dlib's annotated group photos (500 px, faces 37–109 px wide) it finds 12 of 43 faces, 2 of the 31
  under 50 px.
* ``mediapipe`` (:class:`MediapipeDetector`, the default): FaceMesh, and a search with mediapipe's
  full-range detector over the frame and a grid of tiles for the faces FaceMesh misses; each face the
  search finds is meshed in an enlarged crop of its own and mapped back to the frame
  (face_search.py). On the same photos: 43 of 43 (``python -m benchmarks --only recall``).

When the search runs is the design. Photos (``static``) are not real time and every face counts:
each is searched in every region, each face meshed in its crop (better landmarks on a small face
than FaceMesh's on the whole photo), and then FaceMesh on the whole photo adds any face the search
missed. A video keeps the tracker: FaceMesh in tracking mode first, and the search only while it has
fewer faces than ``--max-faces``, every ``face_search_every`` frames and one region (the whole frame
or one tile) a time, so a search costs one full-range pass (about 8 ms on a 720p frame) and never
lands on every frame. A face found in a video is then followed in its own crop (FaceMesh tracking
mode, about 3.5 ms a face); once the whole frame's FaceMesh has it (someone walking closer), its
crop track ends. With one face asked for (the default) and one tracked, not one step is added to
FaceMesh's: a video call keeps the tracker's speed.
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
from .face_search import CropMesh, FaceSearch, RegionTrack, box_crop, covers, merge_boxes, same_face, search_regions

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

    def retune(self, settings: DetectSettings) -> None:
        """Take a new ``face_search_every`` (the tracks stay)."""

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


class FaceMeshDetector:
    """mediapipe FaceMesh (legacy solution API) on the whole frame: tracking mode for video,
    ``static`` for unrelated photos (every image gets its short-range detector)."""

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

    def retune(self, settings: DetectSettings) -> None:
        """Nothing to take: FaceMesh alone never searches."""

    def close(self) -> None:
        self._mesh.close()


class MediapipeDetector:
    """FaceMesh on the whole frame, and the full-range search for the faces it misses while it has
    fewer than ``max_faces`` (the module's docstring says when the search runs)."""

    def __init__(self, settings: DetectSettings, static: bool = False):
        self._settings = settings
        self._static = static
        self._whole = FaceMeshDetector(settings, static)
        self._search: FaceSearch | None = None  # made when first needed: a tracked video may never search
        # photos: one static FaceMesh for every crop (a video's faces get a RegionTrack each)
        self._crops = CropMesh(settings.min_confidence, settings.min_tracking, static=True) if static else None
        self._tracks: list[RegionTrack] = []  # video: faces the search found, each followed in its crop
        self._wait = 0  # video: frames short of faces still to go before the next search
        self._next = 0  # video: the region the next search looks at

    def __call__(self, frame: np.ndarray) -> list[np.ndarray]:
        if self._static:  # the search first: each face meshed in its own crop; FaceMesh for the rest
            faces = self._found(frame, [])
            if len(faces) < self._settings.max_faces:
                faces += [f for f in self._whole(frame) if not any(same_face(f, g) for g in faces)]
            return faces[: self._settings.max_faces]
        faces = self._whole(frame)
        if self._tracks:
            faces += self._follow(frame, faces)
        if len(faces) < self._settings.max_faces and self._search_due():
            faces += self._found(frame, faces)
        return faces

    def retune(self, settings: DetectSettings) -> None:
        self._settings = settings

    def _search_due(self) -> bool:
        if self._settings.face_search_every == 0:
            return False
        self._wait -= 1
        if self._wait > 0:
            return False
        self._wait = self._settings.face_search_every
        return True

    def _follow(self, frame: np.ndarray, faces: list[np.ndarray]) -> list[np.ndarray]:
        """The tracked crops' faces that the whole frame's FaceMesh does not have (up to max_faces);
        the tracks of the others end."""
        kept: list[RegionTrack] = []
        found: list[np.ndarray] = []
        for track in self._tracks:
            room = len(faces) + len(found) < self._settings.max_faces
            landmarks = track(frame) if room else None
            if landmarks is None or any(same_face(landmarks, f) for f in faces + found):
                track.close()
                continue
            kept.append(track)
            found.append(landmarks)
        self._tracks = kept
        return found

    def _found(self, frame: np.ndarray, faces: list[np.ndarray]) -> list[np.ndarray]:
        """New faces from the full-range search: every region for a photo, the next one for video."""
        regions = search_regions(*frame.shape[:2])
        if not self._static:
            self._next %= len(regions)
            regions, self._next = [regions[self._next]], self._next + 1
        if self._search is None:
            self._search = FaceSearch(self._settings.min_confidence)
        boxes = merge_boxes([box for region in regions for box in self._search(frame, region)])
        new: list[np.ndarray] = []
        for box in sorted(boxes, key=lambda b: -b[2] * b[3]):  # the largest first, as max_faces cuts
            known = faces + new
            if len(known) >= self._settings.max_faces:
                break
            if any(covers(f, box) for f in known):
                continue
            track = (
                None if self._static else RegionTrack(self._settings.min_confidence, self._settings.min_tracking, box)
            )
            landmarks = track(frame) if track is not None else self._photo_crop(frame, box)
            if landmarks is not None and not any(same_face(landmarks, f) for f in known):
                new.append(landmarks)
                if track is not None:
                    self._tracks.append(track)
            elif track is not None:
                track.close()
        return new

    def _photo_crop(self, frame: np.ndarray, box: tuple[float, ...]) -> np.ndarray | None:
        assert self._crops is not None  # made for photos
        return self._crops(frame, *box_crop(box))

    def close(self) -> None:
        self._whole.close()
        if self._search is not None:
            self._search.close()
        if self._crops is not None:
            self._crops.close()
        for track in self._tracks:
            track.close()
        self._tracks = []


# a detector is made from its settings and whether frames are unrelated photos (static)
DETECTORS: Registry[Callable[[DetectSettings, bool], Detector]] = Registry("detector")
DETECTORS.register(
    "mediapipe",
    BadInput(("--detector", "mediapipe", "--max-faces", "9"), "--max-faces 9 is out of range: use a value from 1 to 8"),
)(MediapipeDetector)
DETECTORS.register(
    "facemesh",
    BadInput(
        ("--detector", "facemesh", "--min-tracking", "0"),
        "--min-tracking 0.0 is out of range: use a value from 0.05 to 0.99",
    ),
)(FaceMeshDetector)


@dataclass(frozen=True)
class DetectSettings(Settings):
    section = "detect"
    detector: str = setting(
        "mediapipe",
        "landmark detector: mediapipe (FaceMesh, and a full-range search for small and far faces) or "
        "facemesh (FaceMesh alone)",
        choices=tuple(DETECTORS.names()),
    )
    max_faces: int = setting(1, "most faces to track", low=1, high=8)
    choose: str = setting("largest", "which faces to swap", choices=tuple(FACE_CHOICES.names()))
    min_confidence: float = setting(0.5, "face detector confidence to start a track", low=0.05, high=0.99)
    min_tracking: float = setting(0.5, "landmark confidence to keep a track without re-detecting", low=0.05, high=0.99)
    # with one face asked for and tracked, the search never runs: see the module's docstring
    face_search_every: int = setting(
        6,
        "video, detector mediapipe: while fewer faces than --max-faces are tracked, search one more region "
        "of the frame for small and far faces every N frames (0 = never; photos are always searched)",
        low=0,
        high=300,
    )


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

    def retune(self, settings: DetectSettings) -> None:
        self.detector.retune(settings)
        self.choose = settings.choose

    def close(self) -> None:
        self.detector.close()


# the frame budget changes the search cadence: a new FaceMesh would lose the tracked faces
SPEC = StageSpec(DetectSettings, DetectStage, retunes=frozenset({"face_search_every", "choose"}))
