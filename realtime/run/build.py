"""The frame processor's stages built from their settings sections: once when a run starts, and again
for a section whose settings change while it streams (realtime/retune.py).

Each entry of :data:`STAGE_BUILDERS` owns one section: it builds that section's stage and puts it in
the processor. Sections without an entry (capture, output, pipeline) shape the run itself: a change
to them takes a new run (the studio restarts the stream for it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

from ..core.registry import Registry
from ..stages.align import Aligner, AlignSettings
from ..stages.blend import Blender
from ..stages.color import ColorMatcher
from ..stages.detect import make_detector
from ..stages.mask import MaskBuilder
from ..stages.occlusion import HandOcclusion
from ..stages.stabilize import LandmarkStabilizer
from ..stages.swap import Swapper
from .processor import FrameProcessor

if TYPE_CHECKING:
    from .config import LiveConfig


@dataclass(frozen=True)
class StageContext:
    """What stages are built for besides their settings: the model (a swap change reloads it) and
    whether frames are unrelated photos."""

    model: str | Path | onnx.ModelProto
    still_images: bool


def make_aligner(swapper: Swapper, settings: AlignSettings) -> Aligner:
    """Coverage and offset from the settings, else from the model's card."""
    card = swapper.card
    return Aligner(
        size=swapper.resolution,
        coverage=settings.coverage if settings.coverage is not None else card.coverage,
        y_offset=settings.y_offset if settings.y_offset is not None else card.y_offset,
    )


StageBuilder = Callable[[FrameProcessor, "LiveConfig", StageContext], None]
STAGE_BUILDERS: Registry[StageBuilder] = Registry("stage")


@STAGE_BUILDERS.register("detect")
def _detect(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    previous = processor.detector
    processor.detector = make_detector(cfg.detect, static=context.still_images)
    processor.choose = cfg.detect.choose
    previous.close()


@STAGE_BUILDERS.register("occlusion")
def _occlusion(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    previous = processor.occlusion
    hands = cfg.occlusion.hands
    processor.occlusion = HandOcclusion(cfg.occlusion, static=context.still_images) if hands else None
    if previous is not None:
        previous.close()


@STAGE_BUILDERS.register("stabilize")
def _stabilize(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    processor.stabilizer = LandmarkStabilizer(cfg.stabilize)


@STAGE_BUILDERS.register("align")
def _align(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    processor.aligner = make_aligner(processor.swapper, cfg.align)


@STAGE_BUILDERS.register("swap")
def _swap(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    # the same model (a new model is a new run): only the session options and the morph value change
    processor.swapper = Swapper(context.model, cfg.swap)


@STAGE_BUILDERS.register("mask")
def _mask(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    processor.masker = MaskBuilder(cfg.mask, processor.swapper.resolution)


@STAGE_BUILDERS.register("color")
def _color(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    processor.color = ColorMatcher(cfg.color)


@STAGE_BUILDERS.register("blend")
def _blend(processor: FrameProcessor, cfg: LiveConfig, context: StageContext) -> None:
    processor.blender = Blender(cfg.blend, processor.swapper.resolution)


def build_processor(
    cfg: LiveConfig,
    swapper: Swapper,
    context: StageContext,
    keep_original: bool = False,
    keep_faces: bool = False,
) -> FrameProcessor:
    """A frame processor with every stage built from ``cfg``."""
    processor = FrameProcessor(
        make_detector(cfg.detect, static=context.still_images),
        LandmarkStabilizer(cfg.stabilize),
        make_aligner(swapper, cfg.align),
        swapper,
        MaskBuilder(cfg.mask, swapper.resolution),
        ColorMatcher(cfg.color),
        Blender(cfg.blend, swapper.resolution),
        cfg.detect.choose,
        keep_original,
        None,
        still_images=context.still_images,
        keep_faces=keep_faces,
    )
    _occlusion(processor, cfg, context)
    return processor
