"""Occlusion stage: things in front of the face stay in front of the swapped face.

Pure core: :func:`hand_mask` (hand landmarks in, a mask of the hand out). Wrapper:
:class:`HandOcclusion` runs mediapipe Hands (palm detector + 21 hand landmarks, both inside the
mediapipe wheel) in tracking mode on the camera frame. The hands' masks, drawn in aligned space,
are cut out of the swap, so a hand over the mouth shows the hand, not the swapped face.

Shape of a hand from its 21 landmarks: the palm polygon (wrist and the four knuckles), a thick
line along every finger bone (a finger is about a fifth of the palm wide; drawn a little wider to
cover the tracker's error) and the forearm continuing past the wrist.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.settings import Settings, setting
from .base import FrameWork, Stage, StageContext, StageSpec
from .detect import MediapipeRunner

# mediapipe hand landmark topology: wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16; little 17-20.
_PALM = np.array([0, 1, 5, 9, 13, 17], np.intp)
# a table of the hand's bones
# fmt: off
_BONES = ((1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
          (13, 14), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20), (0, 1), (0, 5), (0, 17))
# fmt: on
_FINGER_WIDTH = 0.3  # of the palm width (index to little knuckle): a finger and the tracker's slack
_FOREARM = 1.2  # forearm drawn this many wrist-to-middle-knuckle lengths past the wrist


@dataclass(frozen=True)
class OcclusionSettings(Settings):
    section = "occlusion"
    # On by default: the 720p live int8 pipeline still streams 30 fps with p95 28 ms with it (7 ms a
    # frame), and a hand over the face stays a hand (RESULTS.md)
    hands: bool = setting(
        True, "keep hands in front of the face: track them (mediapipe Hands) and cut them out of the swap"
    )
    hand_grow: float = setting(
        1.0, "scale of the hand's outline thickness (1 = a finger and the tracker's error)", low=0.5, high=3.0
    )
    # mediapipe's palm detector costs ~16 ms a 720p frame on a 2-core AVX2 EPYC whether or not a hand
    # is there (and as much on a small crop: its input is 192 px either way), so with no hand in view
    # it is run only every few frames; a hand it finds is then tracked every frame
    hand_search_every: int = setting(
        3,
        "while no hand is tracked, look for one every N frames of video (1 = every frame); a hand found "
        "is tracked every frame",
        low=1,
        high=30,
    )


def hand_mask(points: np.ndarray, size: int, grow: float = 1.0) -> np.ndarray:
    """(size, size) float32 0/1 mask of one hand from its 21 landmarks (K=21, 2) in the same pixels."""
    mask = np.zeros((size, size), np.uint8)
    palm_width = float(np.hypot(*(points[5] - points[17])))
    thickness = max(1, int(round(_FINGER_WIDTH * grow * palm_width)))
    fixed = np.round(points * 16).astype(np.int32)
    cv2.fillConvexPoly(mask, cv2.convexHull(fixed[_PALM]), (255,), lineType=cv2.LINE_8, shift=4)
    for a, b in _BONES:
        cv2.line(mask, tuple(fixed[a]), tuple(fixed[b]), (255,), thickness, cv2.LINE_8, shift=4)
    wrist, knuckle = points[0], points[9]
    elbow = wrist + _FOREARM * (wrist - knuckle)
    cv2.line(
        mask,
        tuple(fixed[0]),
        tuple(np.round(elbow * 16).astype(np.int32)),
        (255,),
        max(1, int(round(0.9 * grow * palm_width))),
        cv2.LINE_8,
        shift=4,
    )
    return mask.astype(np.float32) * (1.0 / 255.0)


def occluder_mask(hands: list[np.ndarray], matrix: np.ndarray, size: int, grow: float = 1.0) -> np.ndarray | None:
    """Every hand's mask in the aligned crop: hands are (21, 2) frame-pixel landmarks, ``matrix``
    (2, 3) frame → crop. Feathered over ~1.5 % of the crop; None when there is no hand."""
    if not hands:
        return None
    mask = np.zeros((size, size), np.float32)
    for points in hands:
        crop_points = points @ matrix[:, :2].T + matrix[:, 2]
        np.maximum(mask, hand_mask(crop_points, size, grow), out=mask)
    if not mask.any():
        return None
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=max(0.5, 0.015 * size))


class HandOcclusion:
    """The hand tracker: mediapipe Hands in video mode (``static``: each unrelated photo searched
    anew); :func:`occluder_mask` draws what it finds into a face's aligned crop."""

    def __init__(self, max_hands: int = 2, static: bool = False):
        import mediapipe as mp

        self._hands = MediapipeRunner(
            mp.solutions.hands.Hands(
                static_image_mode=static,
                max_num_hands=max_hands,
                model_complexity=0,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        )

    def __call__(self, frame: np.ndarray) -> list[np.ndarray]:
        """frame (H, W, 3) uint8 BGR → list of (21, 2) float32 pixel landmarks, one per hand."""
        return self._hands.landmarks(frame, "multi_hand_landmarks", 21)

    def close(self) -> None:
        self._hands.close()


class PendingHands:
    """The hands of a frame that a worker thread is still looking for: the first mask waits for them."""

    def __init__(self, search: Future[list[np.ndarray]], grow: float):
        self._search = search
        self._grow = grow

    def mask(self, matrix: np.ndarray, size: int) -> np.ndarray | None:
        return occluder_mask(self._search.result(), matrix, size, self._grow)


class OcclusionStage(Stage):
    """Finds the hands of each frame with a face; the mask stage cuts them out of every face.

    The search runs on a worker thread (mediapipe releases the GIL), beside stabilize, align and the
    model, and the mask stage waits for it: on two cores it costs the frame little time. While no
    hand is tracked it runs every ``hand_search_every`` frames of video (photos: every photo); once
    one is found, every frame until it is lost."""

    def __init__(self, settings: OcclusionSettings, context: StageContext):
        self.tracker = HandOcclusion(static=context.still_images)
        self._still = context.still_images
        self.retune(settings)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="hands")
        self._last: Future[list[np.ndarray]] | None = None
        self._since_search = self.every  # the first frame with a face is searched
        self.searches = 0  # frames the tracker ran on (the rest were skipped: no hand, not due)

    def on_frame(self, work: FrameWork) -> None:
        tracked = self._last is not None and bool(self._last.result())
        self._since_search += 1
        if not tracked and self._since_search < self.every:
            work.in_front = None
            return
        self._since_search = 0
        self.searches += 1
        self._last = self._worker.submit(self.tracker, work.image)
        work.in_front = PendingHands(self._last, self.grow)

    def retune(self, settings: OcclusionSettings) -> None:
        self.grow = settings.hand_grow
        self.every = 1 if self._still else settings.hand_search_every

    def close(self) -> None:
        self._worker.shutdown(wait=True)  # the tracker may still be reading a frame
        self.tracker.close()


def _build(settings: OcclusionSettings, context: StageContext) -> OcclusionStage | None:
    return OcclusionStage(settings, context) if settings.hands else None


# the frame budget changes the search cadence; starting a new Hands graph for it would cost ~100 ms
SPEC = StageSpec(OcclusionSettings, _build, retunes=frozenset({"hand_search_every", "hand_grow"}))
