"""The face-swap detector: does an aligned face crop look like a blended swap.

It answers where the mark cannot: a swap whose mark was washed out (blur, noise, a crop to the
face). The model (``data/detector.onnx``, rebuilt by ``swapcam train-detector``) is a small CNN that
reads the crop FaceMesh and :func:`~swapcam.realtime.stages.align.align_matrix` give, at
:data:`CROP_SIZE` px and :data:`CROP_COVERAGE` (the face outline and a margin around it, where a
blended swap's seam, colour step and softer resolution show). Its card (ONNX metadata
``swapcam_detector``, JSON) says what it was trained on and the score threshold it was calibrated to.

Pure core: :func:`face_crop` (frame and landmarks in, crop out) and :func:`judge` (window scores in,
verdict out). Wrappers: :class:`SwapDetector` (onnxruntime) and :class:`FaceScorer` (FaceMesh, crop,
score). The live pipeline never runs it: only ``swapcam verify`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import UserError
from ..stages.align import align_matrix, transform_points
from ..stages.detect import DetectSettings, face_size, make_detector
from ..stages.landmarks import inter_ocular
from ..stages.warp import crop_aligned

DETECTOR_MODEL = Path(__file__).parents[1] / "data" / "detector.onnx"
CARD_KEY = "swapcam_detector"
INPUT, OUTPUT = "face", "swap_score"
CROP_SIZE = 128  # px: enough for the seam and the resolution step of a 96-128 px model's face
CROP_COVERAGE = 1.8  # template units: the face outline with a margin of cheek, jaw and forehead
MIN_EYES_PX = 20.0  # inter-ocular distance under which a face is too small to judge
SWAPPED_SHARE = 0.5  # the clip looks swapped when this share of the judged windows is over the threshold
FACES_PER_S = 10  # frames scored a second of video: a window's mean needs a few, not all thirty


def face_crop(frame: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The detector's crop of one face.

    frame: (H, W, 3) uint8 BGR; landmarks: (468, 2) float FaceMesh pixels. Returns the crop
    (CROP_SIZE, CROP_SIZE, 3) uint8 and the landmarks in crop pixels (468, 2) float32.
    """
    matrix = align_matrix(landmarks, CROP_SIZE, CROP_COVERAGE)
    return crop_aligned(frame, matrix, CROP_SIZE), transform_points(matrix, np.asarray(landmarks, np.float64))


@dataclass(frozen=True)
class Verdict:
    """What the detector says about a clip or photo: ``state`` is one of ``swapped``, ``real`` or
    ``cannot judge``; ``why`` says why it cannot."""

    state: str
    windows_judged: int
    windows_flagged: int
    score: float | None  # median score of the flagged windows (of all judged ones when none is flagged)
    why: str = ""


def judge(window_scores: Sequence[float | None], threshold: float, why_none: str = "no face found") -> Verdict:
    """window_scores: one per window, None where it held no face to judge. A window is flagged at
    ``threshold`` or more; the clip looks swapped when at least :data:`SWAPPED_SHARE` of the judged
    windows are flagged."""
    judged = np.array([s for s in window_scores if s is not None], np.float64)
    if judged.size == 0:
        return Verdict("cannot judge", 0, 0, None, why_none)
    flagged = judged[judged >= threshold]
    swapped = flagged.size >= SWAPPED_SHARE * judged.size
    score = float(np.median(flagged if swapped else judged))
    return Verdict("swapped" if swapped else "real", int(judged.size), int(flagged.size), round(score, 3))


def read_card(path: Path) -> dict[str, Any]:
    """The detector's card (ONNX metadata) of ``path``."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError, ValueError, … for damaged files
        raise UserError(f"detector {path} is not a readable ONNX model ({type(err).__name__}): rebuild it") from None
    props = {p.key: p.value for p in model.metadata_props}
    if CARD_KEY not in props:
        raise UserError(f"{path} has no swapcam detector card: rebuild it with swapcam train-detector")
    return json.loads(props[CARD_KEY])


class SwapDetector:
    """The detector model on onnxruntime's CPU provider (2 threads: the cost per face the README gives)."""

    def __init__(self, path: Path = DETECTOR_MODEL, threads: int = 2):
        import onnxruntime as ort

        if not path.is_file():
            raise UserError(f"detector model {path} does not exist: reinstall swapcam or run swapcam train-detector")
        self.card = read_card(path)
        self.threshold = float(self.card["threshold"])
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def scores(self, crops: np.ndarray) -> np.ndarray:
        """crops (N, CROP_SIZE, CROP_SIZE, 3) uint8 BGR → (N,) float32 swap probabilities 0..1."""
        if len(crops) == 0:
            return np.zeros(0, np.float32)
        faces = np.ascontiguousarray(crops, np.float32) / 255.0
        return self._session.run([OUTPUT], {INPUT: faces})[0].reshape(-1).astype(np.float32)


class FaceScorer:
    """FaceMesh, the crop and the detector on one frame: the highest score of its faces large
    enough to judge (a swap usually changes one face of several)."""

    def __init__(self, detector: SwapDetector, still: bool, max_faces: int = 4):
        self.detector = detector
        self.too_small = 0  # faces found but under MIN_EYES_PX
        self._mesh = make_detector(DetectSettings(max_faces=max_faces), static=still)

    def __call__(self, frame: np.ndarray) -> float | None:
        """frame (H, W, 3) uint8 BGR → the score, or None when it has no face large enough."""
        faces = [f for f in self._mesh(frame) if face_size(f) > 0]
        big = [f for f in faces if inter_ocular(f) >= MIN_EYES_PX]
        self.too_small += len(faces) - len(big)
        if not big:
            return None
        crops = np.stack([face_crop(frame, f)[0] for f in big])
        return float(self.detector.scores(crops).max())

    def close(self) -> None:
        self._mesh.close()


class SwapWindows:
    """The detector over a stream of frames, window by window: every frame of a photo, about
    :data:`FACES_PER_S` frames a second of a video; a window's score is the mean of its frames'."""

    def __init__(self, detector: SwapDetector, fps: float):
        self.detector = detector
        self.scores: list[float | None] = []  # one a closed window
        self._scorer = FaceScorer(detector, still=not fps)
        self._stride = max(1, round(fps / FACES_PER_S)) if fps else 1
        self._frames = 0
        self._window: list[float] = []

    def add(self, frame: np.ndarray) -> None:
        if self._frames % self._stride == 0:
            score = self._scorer(frame)
            if score is not None:
                self._window.append(score)
        self._frames += 1

    def end_window(self, keep: bool = True) -> float | None:
        """Close the window (``keep`` False drops it: a last part too short to count); its score."""
        score = round(float(np.mean(self._window)), 4) if self._window else None
        if keep:
            self.scores.append(score)
        self._window = []
        return score

    def verdict(self) -> Verdict:
        self._scorer.close()
        why = "no face found"
        if self._scorer.too_small:
            why = f"the faces are too small to judge (under {MIN_EYES_PX:g} px between the eyes)"
        return judge(self.scores, self.detector.threshold, why)
