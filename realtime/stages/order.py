"""The live stages, in the order a frame goes through them. A new stage is one module declaring a
``SPEC`` (realtime/stages/base.py) and one line here."""

from . import align, blend, color, detect, mask, occlusion, stabilize, swap
from .base import StageSpec

STAGES: tuple[StageSpec, ...] = (
    detect.SPEC,
    occlusion.SPEC,
    stabilize.SPEC,
    align.SPEC,
    swap.SPEC,
    mask.SPEC,
    color.SPEC,
    blend.SPEC,
)
