"""One frame through the stages (realtime/stages/order.py, in that order): faults pass the original
frame through, counted by kind."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TypeVar

import cv2
import numpy as np

from ..sources.base import Frame
from ..stages.base import FaceWork, FrameFault, FrameWork, Stage, StageContext, StageSpec

S = TypeVar("S", bound=Stage)


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
    """Runs one frame at a time through the built stages (the contract: realtime/stages/base.py).

    ``still_images``: frames are unrelated photos, so nothing learnt on one may smooth the next;
    ``keep_original``: :attr:`Processed.original` holds each frame before swapping; ``keep_faces``:
    :attr:`Processed.aligned` and ``rendered`` hold the first face (the studio's views)."""

    def __init__(
        self,
        stages: dict[str, Stage | None],
        still_images: bool = False,
        keep_original: bool = False,
        keep_faces: bool = False,
    ):
        self.stages = stages  # by name, in processing order; None: switched off by its settings
        self.still_images = still_images
        self.keep_original = keep_original
        self.keep_faces = keep_faces
        self._steps: dict[str, list[tuple[str, Stage]]] = {}
        self._plan()

    def _plan(self) -> None:
        """The stages taking part in each step, in order (read once, not per frame)."""
        built = [(name, stage) for name, stage in self.stages.items() if stage is not None]
        self._built = built
        self._steps = {
            step: [(n, s) for n, s in built if s.takes_part(step)] for step in ("on_frame", "on_face", "on_paste")
        }

    def stage(self, name: str, kind: type[S]) -> S:
        """The built stage ``name``, which is a ``kind`` (so the caller gets its type)."""
        stage = self.stages[name]
        if not isinstance(stage, kind):
            raise TypeError(f"stage {name} is {type(stage).__name__}, not {kind.__name__}")
        return stage

    def rebuild(self, spec: StageSpec, settings, context: StageContext) -> None:
        """Replace the stage of ``spec`` by one built from ``settings`` (between frames), then close
        the one it replaces. A build that fails leaves the previous stage in place."""
        previous = self.stages[spec.name]
        self.stages[spec.name] = spec.build(settings, context)
        self._plan()
        if previous is not None:
            previous.close()

    def close(self) -> None:
        for _, stage in self._built:
            stage.close()

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        clock = StageClock()
        try:
            if frame.fault is not None:  # a stand-in from the source (camera lost): nothing to swap
                raise FrameFault(frame.fault)
            image = frame.image
            if not (isinstance(image, np.ndarray) and image.shape == (height, width, 3) and image.dtype == np.uint8):
                raise FrameFault("bad_frame")
            original = image.copy() if self.keep_original else None
            work = FrameWork(image, frame.media_time, self.keep_faces)
            faces_swapped = self._swap_faces(work, clock)
            return Processed(frame, image, faces_swapped, None, clock.ms, original, *(work.kept or (None, None)))
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

    def _swap_faces(self, work: FrameWork, clock: StageClock) -> int:
        if self.still_images:  # unrelated photos: nothing measured on one may smooth the next
            for _, stage in self._built:
                stage.reset()
        for name, stage in self._steps["on_frame"]:
            with clock(name):
                stage.on_frame(work)
            if not work.faces:
                for _, lost in self._built:
                    lost.no_face()
                return 0
        for track, landmarks in enumerate(work.faces):
            face = FaceWork(track, landmarks)
            for name, stage in self._steps["on_face"]:
                with clock(name):
                    stage.on_face(face, work)
            work.done.append(face)
        for name, stage in self._steps["on_paste"]:
            with clock(name):
                stage.on_paste(work)
        return len(work.done)
