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

import collections
import threading
from typing import TYPE_CHECKING

from ..core.errors import UserError
from ..sources.base import Frame
from ..stages.base import NEXT_FRAME, Stage, StageContext
from ..stages.order import STAGES
from .processor import FrameProcessor, Fronted, Processed

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

    The front half reads the settings once per frame and builds the stages whose sections changed.
    A stage of the front (detect, hands, stabilize) is put in place at once; one of the back (align …
    blend) waits in a queue, and the back half puts it in place before it processes that frame or a
    later one (that frame may be dropped on the way), so with the halves on two threads no stage is
    replaced while the other thread runs it, and no frame gets half a change.
    A stage that fails to build (an execution provider that cannot start) keeps its previous settings
    and the control's ``error`` says why: a change must never stop the stream."""

    def __init__(self, processor: FrameProcessor, control: LiveControl, applied: LiveConfig, context: StageContext):
        self.processor = processor
        self.control = control
        self.applied = applied
        self.context = context
        self._fronted = 0
        self._installs: collections.deque[tuple[int, str, Stage | None]] = collections.deque()

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        return self.back(self.front(frame, width, height))

    def front(self, frame: Frame, width: int, height: int) -> Fronted:
        config = self.control.config  # read once: this frame is processed with one whole config
        self._fronted += 1  # frames in the order the front took them (a looped input's index restarts)
        if config is not self.applied:
            for name, stage in self._retune(config):
                self._installs.append((self._fronted, name, stage))  # deque appends are thread-safe
        fronted = self.processor.front(frame, width, height)
        fronted.sequence = self._fronted
        return fronted

    def back(self, fronted: Fronted) -> Processed:
        while self._installs and self._installs[0][0] <= fronted.sequence:
            _, name, stage = self._installs.popleft()
            self.processor.install(name, stage)
        return self.processor.back(fronted)

    def _retune(self, config: LiveConfig) -> list[tuple[str, Stage | None]]:
        """Build the changed stages; install the front's now, return the back's."""
        errors, pending = [], []
        changed = set(changed_sections(self.applied, config))
        for spec in STAGES:  # a section of the run itself takes effect with the next run
            if spec.name not in changed or spec.applies != NEXT_FRAME:
                continue
            try:
                stage = spec.build(getattr(config, spec.name), self.context)
            except UserError as err:
                errors.append(f"{spec.name}: {err}")
                continue
            except Exception as err:  # a bug in a rebuild must not stop the stream either
                errors.append(f"{spec.name}: {type(err).__name__}: {err}")
                continue
            if self.processor.in_front(spec.name, stage):
                self.processor.install(spec.name, stage)
            else:
                pending.append((spec.name, stage))
        self.control.error = "; ".join(errors) or None
        self.applied = config
        return pending
