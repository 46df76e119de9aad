"""The stage contract: what a live stage declares and what it does to a frame.

A stage module declares one :class:`StageSpec` beside its code: its settings class, a builder that
makes the stage from those settings and the run's :class:`StageContext`, and whether a change to its
settings shows from the next frame or restarts the stream. :data:`swapcam.realtime.stages.STAGES`
lists the specs in processing order, and the frame processor (realtime/run/processor.py) runs every
built stage through the same three steps:

1. ``on_frame(work)``, once per frame, in order: detect fills ``work.faces``; occlusion,
   stabilize work on the whole frame. When a step leaves no face, every stage's ``no_face()`` runs
   and the frame passes through as it came.
2. ``on_face(face, work)``, for each face, in order: align, swap, mask, colour, blend fill the
   face's :class:`FaceWork`.
3. ``on_paste(work)``, once every face succeeded, in order: blend pastes the faces into the frame.

A stage overrides the steps it takes part in; the processor times each stage under its name. A
stage with a whole-frame step runs on the front thread, every other on the back thread, one frame
behind (realtime/run/loop.py): a stage takes part in ``on_frame`` or in the face steps, never both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import onnx

from ..core.settings import Settings

if TYPE_CHECKING:
    from .contract import ModelCard
    from .mask import FaceMasks
    from .swap import Swapper

# whether a settings change shows from the next frame, or takes a new run (the studio restarts it)
NEXT_FRAME = "next frame"
RESTARTS = "restarts the stream"


class FrameFault(Exception):
    """A problem with one frame: the frame passes through and ``kind`` is counted."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class InFront(Protocol):
    """Something in front of the face (hands): its mask in a face's aligned crop."""

    def mask(self, matrix: np.ndarray, size: int) -> np.ndarray | None:
        """matrix (2, 3) frame → crop; (size, size) float32 0..1, or None where nothing covers it."""


@dataclass
class FaceWork:
    """One face on its way through the stages (every array in the aligned crop of R × R pixels)."""

    track: int  # the face's index in the frame, largest first
    landmarks: np.ndarray  # (468, 2) float32 frame pixels
    matrix: np.ndarray = field(init=False)  # (2, 3) frame → crop (align)
    crop: np.ndarray = field(init=False)  # (R, R, 3) float32 BGR 0..1, the camera face (align)
    face_mask: np.ndarray = field(init=False)  # (R, R) float32, the model's mask of the camera face (swap)
    celeb: np.ndarray = field(init=False)  # (R, R, 3) float32 BGR, the model's rendering (swap)
    celeb_mask: np.ndarray = field(init=False)  # (R, R) float32, the rendering's mask (swap)
    aligned: np.ndarray = field(init=False)  # (468, 2) landmarks in the crop (mask)
    masks: FaceMasks = field(init=False)  # (mask)
    face: np.ndarray = field(init=False)  # (R, R, 3) float32, the face as it will be pasted (colour, blend)
    detail: np.ndarray | None = None  # where the camera's fine detail goes back in (blend)


@dataclass
class FrameWork:
    """One frame on its way through the stages."""

    image: np.ndarray  # (H, W, 3) uint8 BGR; blend pastes into it in place
    media_time: float  # seconds into the input, what smoothing over time follows
    keep_faces: bool = False  # keep the first face's crop and rendering (the studio's views)
    faces: list[np.ndarray] = field(default_factory=list)  # (468, 2) float32 landmarks of the faces to swap
    in_front: InFront | None = None  # what covers the faces (occlusion)
    done: list[FaceWork] = field(default_factory=list)  # faces through every on_face step
    kept: tuple[np.ndarray, np.ndarray] | None = None  # copies of the first face's crop and rendering


class Stage:
    """A built stage; each step does nothing unless the stage overrides it."""

    def on_frame(self, work: FrameWork) -> None:
        """Work on the whole frame."""

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        """Work on one face."""

    def on_paste(self, work: FrameWork) -> None:
        """Work once every face has been through ``on_face``."""

    def reset(self) -> None:
        """The next frame is unrelated to this one (photos): forget what was learnt over time."""

    def no_face(self) -> None:
        """No face in this frame: forget what belongs to the faces that were tracked."""

    def close(self) -> None:
        """Release what the stage holds (a tracker's graph)."""

    def retune(self, settings: Any) -> None:
        """Take ``settings``, which differ from the ones it was built with only in its spec's
        ``retunes`` fields, in place: its trackers and what they learnt stay."""
        raise NotImplementedError(f"{type(self).__name__} declares no settings it takes in place")

    def takes_part(self, step: str) -> bool:
        """Whether this stage overrides ``step`` (``on_frame``, ``on_face`` or ``on_paste``)."""
        return getattr(type(self), step) is not getattr(Stage, step)


class StageContext:
    """What stages are built for besides their settings: the run's model (loaded once: its
    resolution and card size the crops; a swap change loads it anew) and whether frames are
    unrelated photos."""

    def __init__(self, model: str | Path | onnx.ModelProto, still_images: bool, swapper: Swapper):
        self.model = model
        self.still_images = still_images
        self.swapper = swapper  # the model as first loaded

    @property
    def resolution(self) -> int:
        return self.swapper.resolution

    @property
    def card(self) -> ModelCard:
        return self.swapper.card


@dataclass(frozen=True)
class StageSpec:
    """A stage as its module declares it. ``build(settings, context)`` makes the stage, or returns
    None when the settings switch it off; ``applies``: :data:`NEXT_FRAME` or :data:`RESTARTS`;
    ``retunes``: fields a built stage takes in place (:meth:`Stage.retune`) instead of being built
    anew, for a change that must not cost a tracker's start (the frame budget's cadences). A change
    of them alone never switches the stage on or off."""

    settings: type[Settings]
    build: Callable[[Any, StageContext], Stage | None]
    applies: str = NEXT_FRAME
    retunes: frozenset[str] = frozenset()

    def retuned(self, old: Settings, new: Settings) -> bool:
        """Whether ``old`` → ``new`` changes only fields the built stage takes in place."""
        changed = {f.name for f in dataclasses.fields(new) if getattr(old, f.name) != getattr(new, f.name)}  # type: ignore[arg-type]
        return bool(changed) and changed <= self.retunes

    @property
    def name(self) -> str:
        return self.settings.section
