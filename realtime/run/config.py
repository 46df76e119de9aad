"""Every setting of a live run, one section per component: what the command line, config files,
the studio's panel, presets and the run report all read.

The sections are the input's, one per stage of :data:`~swapcam.realtime.stages.order.STAGES` (in
processing order), the outputs', the provenance's and the loop's. A stage's section applies as its
module declares (from the next frame, or by restarting the stream); the other sections shape the run
itself, so a change to them takes a new run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..core.errors import UserError
from ..core.settings import Settings, from_sources
from ..provenance.label import ProvenanceSettings
from ..sinks.base import OutputSettings
from ..sources.base import CaptureSettings
from ..stages.base import NEXT_FRAME, RESTARTS
from ..stages.order import STAGES
from .budget import BudgetSettings
from .loop import PipelineSettings

#: every settings class of a live run, in the order their flags appear in --help
LIVE_SETTINGS: tuple[type[Settings], ...] = (
    CaptureSettings,
    *(spec.settings for spec in STAGES),
    OutputSettings,
    ProvenanceSettings,
    PipelineSettings,
    BudgetSettings,
)

#: how a change of each section applies: the stages say; the run's own sections restart it
APPLIES: dict[str, str] = {cls.section: RESTARTS for cls in LIVE_SETTINGS} | {
    spec.name: spec.applies for spec in STAGES
}


def frame_sections() -> frozenset[str]:
    """Sections a running stream takes up from the next frame (the others start a new run)."""
    return frozenset(name for name, applies in APPLIES.items() if applies == NEXT_FRAME)


def config_from(args=None, config_file=None) -> LiveConfig:
    """Every section from its defaults < ``config_file``'s section < flags in ``args`` (an argparse
    namespace of :func:`~swapcam.realtime.core.settings.add_arguments`)."""
    return LiveConfig(**{cls.section: from_sources(cls, args, config_file) for cls in LIVE_SETTINGS})


class LiveConfig:
    """An immutable set of sections, each a settings object: ``config.mask`` is the
    :class:`~swapcam.realtime.stages.mask.MaskSettings` in force. Sections left out are defaults::

        LiveConfig(pipeline=PipelineSettings(max_frames=3)).replace(mask=MaskSettings(opacity=0.5))
    """

    __slots__ = ("_sections",)

    def __init__(self, **sections: Settings):
        known = {cls.section: cls for cls in LIVE_SETTINGS}
        for name, value in sections.items():
            if name not in known:
                raise UserError(f"unknown settings section {name!r}: choose one of {', '.join(known)}")
            if not isinstance(value, known[name]):
                raise TypeError(f"section {name} must be {known[name].__name__}, got {type(value).__name__}")
        values = {name: sections[name] if name in sections else cls() for name, cls in known.items()}
        object.__setattr__(self, "_sections", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_sections")[name]
        except KeyError:
            raise AttributeError(f"LiveConfig has no section {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("LiveConfig is immutable: use replace()")

    def replace(self, **sections: Settings) -> LiveConfig:
        """A copy with ``sections`` swapped in."""
        return LiveConfig(**{**self._sections, **sections})

    def sections(self) -> Iterator[tuple[str, Settings]]:
        """(name, settings) of every section, in the order of --help."""
        return iter(self._sections.items())

    def names(self) -> list[str]:
        return list(self._sections)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LiveConfig) and self._sections == other._sections

    def __hash__(self) -> int:
        return hash(tuple(self._sections.items()))

    def __repr__(self) -> str:
        return "LiveConfig(" + ", ".join(f"{name}={value!r}" for name, value in self._sections.items()) + ")"
