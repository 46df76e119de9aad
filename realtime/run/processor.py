"""One frame through the stages: faults pass the original frame through, counted by kind."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..sources.base import Frame
from ..stages.align import Aligner, transform_points
from ..stages.blend import Blender
from ..stages.color import ColorMatcher
from ..stages.detect import Detector, choose_faces
from ..stages.mask import MaskBuilder
from ..stages.occlusion import HandOcclusion
from ..stages.stabilize import LandmarkStabilizer
from ..stages.swap import Swapper
from ..stages.warp import crop_aligned


class FrameFault(Exception):
    """A problem with one frame: the frame passes through and ``kind`` is counted."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class Processed:
    frame: Frame
    image: np.ndarray  # (H, W, 3) uint8 BGR, what goes to the sink
    faces_swapped: int = 0
    fault: str | None = None  # why the original passed through (None = swapped or no face)
    stages_ms: dict[str, float] = field(default_factory=dict)
    original: np.ndarray | None = None  # the frame before swapping, when the processor keeps it
    # the first face's aligned crop and the model's rendering of it ((R, R, 3) float32 BGR 0..1), when
    # the processor keeps faces (the studio's "aligned" and "model" views)
    aligned: np.ndarray | None = None
    rendered: np.ndarray | None = None


class StageClock:
    """Per-frame stage timer: ``with clock("swap"): …`` adds the elapsed ms to the stage."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._stage = ""
        self._start = 0.0

    def __call__(self, stage: str) -> StageClock:
        self._stage = stage
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.ms[self._stage] = self.ms.get(self._stage, 0.0) + (time.perf_counter() - self._start) * 1e3


def conform(image: object, width: int, height: int) -> np.ndarray:
    """Any decodable frame-like array → (height, width, 3) uint8 BGR; raises FrameFault if hopeless."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise FrameFault("bad_frame")
    if image.dtype != np.uint8:
        image = np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.shape[2] != 3:
        raise FrameFault("bad_frame")
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


class FrameProcessor:
    """detect → (occlusion) → stabilize → align → swap → mask → colour → blend for one frame at a time."""

    def __init__(
        self,
        detector: Detector,
        stabilizer: LandmarkStabilizer,
        aligner: Aligner,
        swapper: Swapper,
        masker: MaskBuilder,
        color: ColorMatcher,
        blender: Blender,
        choose: str,
        keep_original: bool = False,
        occlusion: HandOcclusion | None = None,
        still_images: bool = False,
        keep_faces: bool = False,
    ):
        self.keep_original = keep_original
        self.keep_faces = keep_faces
        self.still_images = still_images
        self.detector = detector
        self.stabilizer = stabilizer
        self.aligner = aligner
        self.swapper = swapper
        self.masker = masker
        self.color = color
        self.blender = blender
        self.occlusion = occlusion
        self.choose = choose
        # the aligned crop, written in place and handed to the model as a batch of one
        self._crop = np.zeros((swapper.resolution, swapper.resolution, 3), np.float32)

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        clock = StageClock()
        try:
            if frame.fault is not None:  # a stand-in from the source (camera lost): nothing to swap
                raise FrameFault(frame.fault)
            image = frame.image
            if not (isinstance(image, np.ndarray) and image.shape == (height, width, 3) and image.dtype == np.uint8):
                raise FrameFault("bad_frame")
            original = image.copy() if self.keep_original else None
            kept: list[np.ndarray] = []
            faces_swapped = self._swap_faces(image, frame.media_time, clock, kept if self.keep_faces else None)
            return Processed(frame, image, faces_swapped, None, clock.ms, original, *(kept or (None, None)))
        except FrameFault as fault:
            return self._pass_through(frame, fault.kind, clock, width, height)
        except Exception as err:  # a stage bug must not stop the stream; the report names it
            return self._pass_through(frame, f"error:{type(err).__name__}", clock, width, height)

    def _pass_through(self, frame: Frame, kind: str, clock: StageClock, width: int, height: int) -> Processed:
        try:
            image = conform(frame.image, width, height)
        except FrameFault:
            image = np.zeros((height, width, 3), np.uint8)
        return Processed(frame, image, 0, kind, clock.ms, image.copy() if self.keep_original else None)

    def _swap_faces(
        self, image: np.ndarray, media_time: float, clock: StageClock, kept: list[np.ndarray] | None
    ) -> int:
        if self.still_images:  # unrelated photos: nothing measured on one may smooth the next
            self.stabilizer.reset()
            self.color.reset()
            self.blender.reset()
        with clock("detect"):
            faces = choose_faces(self.detector(image), image.shape[:2], self.choose)
        if not faces:
            self.color.reset()
            self.blender.reset()
            return 0
        hands = []
        if self.occlusion is not None:
            with clock("occlusion"):
                hands = self.occlusion(image)
        with clock("stabilize"):
            faces = self.stabilizer(faces, media_time)
        size = self.swapper.resolution
        pastes = []
        for track, landmarks in enumerate(faces):
            with clock("align"):
                matrix = self.aligner.matrix(landmarks)
                crop = crop_aligned(image, matrix, size, out=self._crop)
            with clock("swap"):
                face_mask, celeb, celeb_mask = self.swapper(crop)
                if not (np.isfinite(celeb).all() and np.isfinite(face_mask).all() and np.isfinite(celeb_mask).all()):
                    raise FrameFault("nan_output")
                if kept is not None and track == 0:  # copies: the crop buffer is reused next frame
                    kept += [crop.copy(), celeb.copy()]
            with clock("mask"):
                occluder = self.occlusion.mask(hands, matrix, size) if self.occlusion is not None else None
                aligned = transform_points(matrix, landmarks)
                masks = self.masker(face_mask, celeb_mask, aligned, occluder)
            with clock("color"):
                face = self.color(celeb, crop, masks.skin, media_time, track)
            with clock("blend"):
                face = self.blender(face, crop, masks.face, masks.visible, media_time, track)
                detail = self.blender.detail_mask(masks.skin, aligned)
            pastes.append((face, masks.alpha, matrix, detail))
        # paste only once every face succeeded, so a fault leaves the original frame untouched
        with clock("blend"):
            for face, alpha, matrix, detail in pastes:
                self.blender.paste(image, face, alpha, matrix, detail)
        return len(pastes)
