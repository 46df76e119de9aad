"""Settings changed while a run streams: handed over between frames, never as shared mutable fields.

:class:`LiveControl` holds the run's current :class:`~.config.LiveConfig`, an immutable object: a
writer (the studio's web server) builds a new one and swaps the reference in one store, which is
atomic in Python. :class:`Retuner` wraps the frame processor on the processing thread: it reads the
reference once per frame and, when it is a new object, rebuilds the stages whose sections changed
(each with the builder its module declares) before processing that frame. So a change shows from
the next frame processed on, no frame is processed with half a change, and nothing locks on the
frame path.

``stop`` asks the run to end as if its input had ended (the studio switching input or model).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..core.errors import UserError
from ..sources.base import Frame
from ..stages.base import NEXT_FRAME, StageContext
from ..stages.order import STAGES
from .processor import FrameProcessor, Processed

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import LiveConfig


def changed_sections(old: LiveConfig, new: LiveConfig) -> list[str]:
    """The names of the sections whose settings differ, in the order of the config."""
    return [name for name, settings in new.sections() if getattr(old, name) != settings]


class LiveControl:
    """The current settings of a running stream, and a request to stop it."""

    def __init__(self, config: LiveConfig):
        self._config = config
        self._writers = threading.Lock()  # two changes at once must not lose one; readers never wait
        self.stop = threading.Event()
        self.error: str | None = None  # what the last change could not apply (written by the Retuner)

    @property
    def config(self) -> LiveConfig:
        return self._config

    def update(self, change: Callable[[LiveConfig], LiveConfig]) -> LiveConfig:
        """Apply ``change`` to the current settings and publish the result (which it returns).
        ``change`` may raise (a bad value): then nothing is published."""
        with self._writers:
            new = change(self._config)
            self._config = new  # one reference store: the processing thread sees old or new, whole
            return new


class Retuner:
    """The frame processor, its stages kept in step with a :class:`LiveControl`.

    A stage that fails to rebuild (an execution provider that cannot start) keeps its previous
    settings and the control's ``error`` says why: a change must never stop the stream."""

    def __init__(self, processor: FrameProcessor, control: LiveControl, applied: LiveConfig, context: StageContext):
        self.processor = processor
        self.control = control
        self.applied = applied
        self.context = context

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        config = self.control.config  # read once: this frame is processed with one whole config
        if config is not self.applied:
            self._retune(config)
        return self.processor(frame, width, height)

    def _retune(self, config: LiveConfig) -> None:
        errors = []
        changed = set(changed_sections(self.applied, config))
        for spec in STAGES:  # a section of the run itself takes effect with the next run
            if spec.name not in changed or spec.applies != NEXT_FRAME:
                continue
            try:
                self.processor.rebuild(spec, getattr(config, spec.name), self.context)
            except UserError as err:
                errors.append(f"{spec.name}: {err}")
            except Exception as err:  # a bug in a rebuild must not stop the stream either
                errors.append(f"{spec.name}: {type(err).__name__}: {err}")
        self.control.error = "; ".join(errors) or None
        self.applied = config
