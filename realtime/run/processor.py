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
    work_ms: tuple[float, float] = (0.0, 0.0)  # wall time of the front and of the back half
    shed: tuple[str, ...] = ()  # the budget's steps in force for this frame (realtime/run/budget.py)


@dataclass
class Fronted:
    """A frame after :meth:`FrameProcessor.front`, on its way to :meth:`FrameProcessor.back`."""

    frame: Frame
    width: int
    height: int
    clock: StageClock
    work: FrameWork | None = None  # None when the frame passes through
    original: np.ndarray | None = None
    fault: str | None = None
    sequence: int = 0  # its place among the frames the front took (realtime/run/retune.py)
    shed: tuple[str, ...] = ()  # the budget's steps in force (realtime/run/retune.py)
    front_ms: float = 0.0  # wall time of the front half


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
        self._phases: dict[str, list[tuple[str, Stage]]] = {}
        self._plan()

    def _plan(self) -> None:
        """The stages taking part in each step, in order (read once, not per frame)."""
        built = [(name, stage) for name, stage in self.stages.items() if stage is not None]
        self._built = built
        self._steps = {
            step: [(n, s) for n, s in built if s.takes_part(step)] for step in ("on_frame", "on_face", "on_paste")
        }
        # the thread each stage lives on: a stage with a whole-frame step is the front's (its resets
        # too), every other the back's, so that no stage is ever touched from two threads
        for name, stage in built:
            if stage.takes_part("on_frame") and (stage.takes_part("on_face") or stage.takes_part("on_paste")):
                raise TypeError(f"stage {name} has a whole-frame step and a face step: split it in two stages")
        self._phases = {
            "front": [(n, s) for n, s in built if s.takes_part("on_frame")],
            "back": [(n, s) for n, s in built if not s.takes_part("on_frame")],
        }

    def stage(self, name: str, kind: type[S]) -> S:
        """The built stage ``name``, which is a ``kind`` (so the caller gets its type)."""
        stage = self.stages[name]
        if not isinstance(stage, kind):
            raise TypeError(f"stage {name} is {type(stage).__name__}, not {kind.__name__}")
        return stage

    def rebuild(self, spec: StageSpec, settings, context: StageContext) -> None:
        """Replace the stage of ``spec`` by one built from ``settings`` (between frames). A build that
        fails leaves the previous stage in place."""
        self.install(spec.name, spec.build(settings, context))

    def install(self, name: str, stage: Stage | None) -> None:
        """Put ``stage`` in the place of stage ``name`` and close the one it replaces; called on the
        thread that runs that stage (:meth:`in_front`), between two of its frames."""
        previous = self.stages[name]
        self.stages[name] = stage
        self._plan()
        if previous is not None:
            previous.close()

    def retune(self, name: str, settings) -> None:
        """Hand stage ``name`` settings it takes in place (its spec's ``retunes``), on its thread."""
        stage = self.stages[name]
        if stage is not None:  # off: a change of those fields alone leaves it off
            stage.retune(settings)

    def in_front(self, name: str, stage: Stage | None) -> bool:
        """Whether stage ``name``, now or as ``stage``, runs in :meth:`front` (else in :meth:`back`)."""
        return any(s is not None and s.takes_part("on_frame") for s in (self.stages[name], stage))

    def close(self) -> None:
        for _, stage in self._built:
            stage.close()

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        return self.back(self.front(frame, width, height))

    def front(self, frame: Frame, width: int, height: int) -> Fronted:
        """The whole-frame steps (detect, hands, stabilize). With :meth:`back` on another thread,
        the next frame's front runs beside this frame's back (realtime/run/loop.py)."""
        start = time.perf_counter()
        fronted = self._front(frame, width, height)
        fronted.front_ms = (time.perf_counter() - start) * 1e3
        return fronted

    def back(self, fronted: Fronted) -> Processed:
        """The face steps and the paste (align … blend) of a frame :meth:`front` has been through."""
        start = time.perf_counter()
        processed = self._back(fronted)
        processed.work_ms = (fronted.front_ms, (time.perf_counter() - start) * 1e3)
        processed.shed = fronted.shed
        return processed

    def _front(self, frame: Frame, width: int, height: int) -> Fronted:
        clock = StageClock()
        try:
            if frame.fault is not None:  # a stand-in from the source (camera lost): nothing to swap
                raise FrameFault(frame.fault)
            image = frame.image
            if not (isinstance(image, np.ndarray) and image.shape == (height, width, 3) and image.dtype == np.uint8):
                raise FrameFault("bad_frame")
            original = image.copy() if self.keep_original else None
            work = FrameWork(image, frame.media_time, self.keep_faces)
            self._find_faces(work, clock)
            return Fronted(frame, width, height, clock, work, original)
        except FrameFault as fault:
            return Fronted(frame, width, height, clock, fault=fault.kind)
        except Exception as err:  # a stage bug must not stop the stream; the report names it
            return Fronted(frame, width, height, clock, fault=f"error:{type(err).__name__}")

    def _back(self, fronted: Fronted) -> Processed:
        frame, clock, work = fronted.frame, fronted.clock, fronted.work
        if fronted.fault is not None or work is None:
            return self._pass_through(frame, fronted.fault or "bad_frame", clock, fronted.width, fronted.height)
        try:
            faces_swapped = self._swap_faces(work, clock)
            kept = work.kept or (None, None)
            return Processed(frame, work.image, faces_swapped, None, clock.ms, fronted.original, *kept)
        except FrameFault as fault:
            return self._pass_through(frame, fault.kind, clock, fronted.width, fronted.height)
        except Exception as err:  # a stage bug must not stop the stream; the report names it
            return self._pass_through(frame, f"error:{type(err).__name__}", clock, fronted.width, fronted.height)

    def _pass_through(self, frame: Frame, kind: str, clock: StageClock, width: int, height: int) -> Processed:
        try:
            image = conform(frame.image, width, height)
        except FrameFault:
            image = np.zeros((height, width, 3), np.uint8)
        return Processed(frame, image, 0, kind, clock.ms, image.copy() if self.keep_original else None)

    def _find_faces(self, work: FrameWork, clock: StageClock) -> None:
        front = self._phases["front"]
        if self.still_images:  # unrelated photos: nothing measured on one may smooth the next
            for _, stage in front:
                stage.reset()
        for name, stage in self._steps["on_frame"]:
            with clock(name):
                stage.on_frame(work)
            if not work.faces:
                for _, lost in front:
                    lost.no_face()
                return

    def _swap_faces(self, work: FrameWork, clock: StageClock) -> int:
        back = self._phases["back"]
        if self.still_images:
            for _, stage in back:
                stage.reset()
        if not work.faces:
            for _, lost in back:
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
