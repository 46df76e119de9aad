"""Every setting of a live run, one section per component."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.settings import Settings
from ..provenance.label import ProvenanceSettings
from ..sinks.base import OutputSettings
from ..sources.base import CaptureSettings
from ..stages.align import AlignSettings
from ..stages.blend import BlendSettings
from ..stages.color import ColorSettings
from ..stages.detect import DetectSettings
from ..stages.mask import MaskSettings
from ..stages.occlusion import OcclusionSettings
from ..stages.stabilize import StabilizeSettings
from ..stages.swap import SwapSettings
from .loop import PipelineSettings


@dataclass(frozen=True)
class LiveConfig:
    """Every setting of a live run, one section per component (in the order of --help)."""

    capture: CaptureSettings = CaptureSettings()
    detect: DetectSettings = DetectSettings()
    occlusion: OcclusionSettings = OcclusionSettings()
    stabilize: StabilizeSettings = StabilizeSettings()
    align: AlignSettings = AlignSettings()
    swap: SwapSettings = SwapSettings()
    mask: MaskSettings = MaskSettings()
    color: ColorSettings = ColorSettings()
    blend: BlendSettings = BlendSettings()
    output: OutputSettings = OutputSettings()
    provenance: ProvenanceSettings = ProvenanceSettings()
    pipeline: PipelineSettings = PipelineSettings()


#: every settings class of a live run, in the order their flags appear in --help
LIVE_SETTINGS: tuple[type[Settings], ...] = tuple(type(default) for default in vars(LiveConfig()).values())
