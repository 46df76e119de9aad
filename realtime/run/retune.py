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
import functools
import threading
from typing import TYPE_CHECKING

from ..core.errors import UserError
from ..sources.base import Frame
from ..stages.base import NEXT_FRAME, StageContext
from ..stages.order import STAGES
from .budget import shed_config
from .processor import FrameProcessor, Fronted, Processed

if TYPE_CHECKING:
    from collections.abc import Callable

    from .budget import FrameBudget
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
    and the control's ``error`` says why: a change must never stop the stream.

    With a ``budget`` (realtime/run/budget.py) the stages run the control's settings with the steps
    the budget sheds applied; a change of either is handed over the same way."""

    def __init__(
        self,
        processor: FrameProcessor,
        control: LiveControl,
        applied: LiveConfig,
        context: StageContext,
        budget: FrameBudget | None = None,
    ):
        self.processor = processor
        self.control = control
        self.applied = applied
        self.context = context
        self.budget = budget
        self._wanted: tuple[LiveConfig, tuple[str, ...]] = (applied, ())  # what ``applied`` was made from
        self._fronted = 0
        self._installs: collections.deque[tuple[int, Callable[[], None]]] = collections.deque()

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        return self.back(self.front(frame, width, height))

    def front(self, frame: Frame, width: int, height: int) -> Fronted:
        # read once each: this frame is processed with one whole config
        wanted = (self.control.config, self.budget.shed if self.budget is not None else ())
        self._fronted += 1  # frames in the order the front took them (a looped input's index restarts)
        if wanted[0] is not self._wanted[0] or wanted[1] != self._wanted[1]:
            by_user = wanted[0] is not self._wanted[0]
            self._wanted = wanted
            for change in self._retune(shed_config(*wanted), by_user):
                self._installs.append((self._fronted, change))  # deque appends are thread-safe
        fronted = self.processor.front(frame, width, height)
        fronted.sequence = self._fronted
        fronted.shed = wanted[1]
        return fronted

    def back(self, fronted: Fronted) -> Processed:
        while self._installs and self._installs[0][0] <= fronted.sequence:
            _, change = self._installs.popleft()
            change()
        return self.processor.back(fronted)

    def _retune(self, config: LiveConfig, by_user: bool = True) -> list[Callable[[], None]]:
        """Apply the changed sections to the front's stages now; return the back's changes. What
        could not apply goes to the control's ``error``; a change of the user's settings clears it,
        one of the budget's alone leaves it for the user to read."""
        errors: list[str] = []
        pending: list[Callable[[], None]] = []
        changed = set(changed_sections(self.applied, config))
        for spec in STAGES:  # a section of the run itself takes effect with the next run
            if spec.name not in changed or spec.applies != NEXT_FRAME:
                continue
            settings = getattr(config, spec.name)
            change: Callable[[], None]
            if spec.retuned(getattr(self.applied, spec.name), settings):  # in place: trackers stay
                change = functools.partial(self.processor.retune, spec.name, settings)
                in_front = self.processor.in_front(spec.name, None)
            else:
                try:
                    stage = spec.build(settings, self.context)
                except UserError as err:
                    errors.append(f"{spec.name}: {err}")
                    continue
                except Exception as err:  # a bug in a rebuild must not stop the stream either
                    errors.append(f"{spec.name}: {type(err).__name__}: {err}")
                    continue
                change = functools.partial(self.processor.install, spec.name, stage)
                in_front = self.processor.in_front(spec.name, stage)
            if in_front:
                change()
            else:
                pending.append(change)
        if errors or by_user:
            self.control.error = "; ".join(errors) or None
        self.applied = config
        return pending
