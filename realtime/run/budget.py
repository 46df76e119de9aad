"""The frame budget: when frames take longer than the input's frame period, optional work is shed, in
the declared order of :data:`SHEDS`, before frames are dropped; when there is room again it comes
back, the last shed first.

The order puts first what a viewer is least likely to see per millisecond it saves (RESULTS.md):

1. ``hand-search``: with no hand in view, look for one every 10 frames instead of 3. Nothing
   changes on screen until a hand enters; then it is masked up to a third of a second late.
2. ``alpha-blend``: the seamless blend's colour correction along the mask edge (4–5 ms a 720p
   frame) gives way to the feathered alpha paste; the seam shows a little more (~1.2 ΔE, not < 1).
3. ``face-search``: look for more, smaller faces every 30 frames instead of 6, with ``--max-faces``
   above 1 (with one face tracked there is no search to shed); a new face is then found later.
4. ``render-every-2``: the model runs on every other frame of a face; the frame between reuses its
   rendering in the new position (it follows the head), so expressions update at half the rate.
5. ``hands-off``: no hand tracking at all. A hand in front of the face is then swapped over.

Shedding is off for inputs processed frame by frame (files with ``every`` pacing, photos): they have
no camera period to keep up with. ``--no-shed`` keeps every setting as given, as before the budget.

:class:`FrameBudget` watches the frames that come out (on the output thread) one window (about a
second of frames) at a time. A window is over budget when the slower half's median work exceeds the
budget, or frames were dropped. It then sheds the next step and lets a window pass before judging
again; each step's saving is measured from the windows before and after. The last step shed comes
back after ``patience`` windows in a row without drops in which the load plus its saving leaves a
fifth of the budget free; a step shed again within two windows of coming back waits twice as long
the next time.
"""

from __future__ import annotations

import collections
import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.registry import Registry
from ..core.settings import Settings, setting

if TYPE_CHECKING:
    from .config import LiveConfig
    from .processor import Processed


@dataclass(frozen=True)
class BudgetSettings(Settings):
    section = "budget"
    shed: bool = setting(
        True,
        "when frames take longer than the input's frame period, shed optional work in a declared order "
        "(hands search, seamless blend, face search, model every other frame, hands) before dropping "
        "frames, and bring it back when there is room; --no-shed keeps every setting as given",
    )
    budget_ms: float = setting(
        0.0, "the time a frame may take, in ms (0 = the input's frame period)", low=0.0, high=1000.0
    )


@dataclass(frozen=True)
class Shed:
    """Optional work the budget may shed: ``cheaper`` turns the section's settings into cheaper ones,
    or None where they already are (the step is then skipped)."""

    section: str
    cheaper: Callable[[Any], Any | None]
    what: str  # what changes, for the log and the studio


def _when(test: Callable[[Any], bool], **changes: Any) -> Callable[[Any], Any | None]:
    return lambda settings: dataclasses.replace(settings, **changes) if test(settings) else None


#: the steps, in the order they are shed (the module's docstring says why this order)
SHEDS: Registry[Shed] = Registry("shed step")
SHEDS.register("hand-search")(
    Shed(
        "occlusion",
        _when(lambda s: s.hands and s.hand_search_every < 10, hand_search_every=10),
        "look for hands every 10 frames",
    )
)
SHEDS.register("alpha-blend")(
    Shed("blend", _when(lambda s: s.mode == "seamless", mode="alpha"), "seamless blend → alpha paste")
)
SHEDS.register("face-search")(
    Shed(
        "detect",
        _when(lambda s: s.max_faces > 1 and 0 < s.face_search_every < 30, face_search_every=30),
        "look for more faces every 30 frames",
    )
)
SHEDS.register("render-every-2")(
    Shed("swap", _when(lambda s: s.render_every < 2, render_every=2), "model on every other frame")
)
SHEDS.register("hands-off")(Shed("occlusion", _when(lambda s: s.hands, hands=False), "no hand tracking"))


def shed_config(config: LiveConfig, steps: tuple[str, ...]) -> LiveConfig:
    """``config`` with the shed ``steps`` applied (a step whose section is already cheap is skipped)."""
    sections: dict[str, Any] = {}
    for name in steps:
        step = SHEDS.get(name)
        current = sections.get(step.section, getattr(config, step.section))
        cheaper = step.cheaper(current)
        if cheaper is not None:
            sections[step.section] = cheaper
    return config.replace(**sections) if sections else config


# a window is calm below this share of the budget; a step comes back only if it stays below it
CALM = 0.8
PATIENCE_WINDOWS = 5  # calm windows before a step comes back (doubles after each relapse, up to MAX)
MAX_PATIENCE_WINDOWS = 80
MAX_EVENTS = 200  # the report keeps the first ones; a day-long stream keeps bounded memory


class FrameBudget:
    """Decides, from the frames that come out, which steps of :data:`SHEDS` are shed.

    ``shed`` (the steps in force, in order) is one reference the front thread reads per frame;
    :meth:`observe` runs on the output thread and is the only writer. ``config``: the run's settings
    as the user set them now (which steps would change anything)."""

    def __init__(
        self,
        settings: BudgetSettings,
        period_ms: float,
        overlap: bool,
        config: Callable[[], LiveConfig],
        log: Callable[[str], None],
    ):
        self.budget_ms = settings.budget_ms or period_ms
        self.overlap = overlap
        self._config = config
        self._log = log
        self.shed: tuple[str, ...] = ()
        self.window = max(5, round(1000 / period_ms))  # about a second of input frames
        self._loads: list[float] = []
        self._dropped_before = 0
        self._frames = 0
        # windows still to pass after a change before judging again; the first second is start-up
        # (the model's and the trackers' first runs), not what the stream will cost
        self._settle = 1
        self._calm = 0
        self._patience = PATIENCE_WINDOWS
        self._since_restore: int | None = None  # windows since the last step came back
        self._measuring: tuple[str, float] | None = None  # the step just shed, and the load that shed it
        self._saving: dict[str, float] = {}  # measured: load before − load after shedding it
        self.events: list[dict[str, Any]] = []
        self.times_shed: collections.Counter[str] = collections.Counter()
        self.frames_shed: collections.Counter[str] = collections.Counter()

    def load_ms(self, result: Processed, write_ms: float) -> float:
        """A frame's work on the busiest thread: the halves side by side, or one after the other."""
        front, back = result.work_ms
        return max(front, back, write_ms) if self.overlap else max(front + back, write_ms)

    def observe(self, result: Processed, write_ms: float, dropped: int) -> None:
        """One frame came out: ``write_ms`` its outputs took, ``dropped`` frames dropped so far."""
        self._frames += 1
        self.frames_shed.update(result.shed)
        self._loads.append(self.load_ms(result, write_ms))
        if len(self._loads) + dropped - self._dropped_before >= self.window:  # a second of input
            self._judge(statistics.median(self._loads), dropped - self._dropped_before)
            self._loads.clear()
            self._dropped_before = dropped

    def _judge(self, load: float, dropped: int) -> None:
        if self._since_restore is not None:
            self._since_restore += 1
        if self._settle:
            self._settle -= 1
            return
        if self._measuring is not None:  # the first window judged after shedding it
            name, before = self._measuring
            self._saving[name] = max(0.0, before - load)
            self._measuring = None
        over = load > self.budget_ms or dropped >= 2 or (dropped and load > CALM * self.budget_ms)
        if over:
            self._calm = 0
            self._shed_next(load, dropped)
        elif dropped == 0 and self.shed and load + self._saving.get(self.shed[-1], 0.0) < CALM * self.budget_ms:
            self._calm += 1  # the last step would fit back
            if self._calm >= self._patience:
                self._restore_last(load)
        else:
            self._calm = 0

    def _next_step(self) -> str | None:
        config = shed_config(self._config(), self.shed)
        for name in SHEDS:
            step = SHEDS.get(name)
            if name not in self.shed and step.cheaper(getattr(config, step.section)) is not None:
                return name
        return None

    def _shed_next(self, load: float, dropped: int) -> None:
        name = self._next_step()
        if name is None:  # nothing left to shed: frames are dropped, as without a budget
            return
        if self._since_restore is not None and self._since_restore <= 2:  # it came back too soon
            self._patience = min(2 * self._patience, MAX_PATIENCE_WINDOWS)
        self._since_restore = None
        self.shed = (*self.shed, name)
        self._measuring = (name, load)
        self._settle = 1
        self.times_shed[name] += 1
        self._event("shed", name, load, dropped)
        self._log(
            f"swapcam: over budget (frames take {load:.1f} ms of {self.budget_ms:.1f}, {dropped} of the last "
            f"{self.window} dropped): shedding {name} ({SHEDS.get(name).what})"
        )

    def _restore_last(self, load: float) -> None:
        name = self.shed[-1]
        self.shed = self.shed[:-1]
        self._settle = 1
        self._calm = 0
        self._since_restore = 0
        self._event("restored", name, load, 0)
        self._log(f"swapcam: within budget ({load:.1f} ms of {self.budget_ms:.1f}): {name} back")

    def _event(self, kind: str, name: str, load: float, dropped: int) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append({kind: name, "frame": self._frames, "load_ms": round(load, 2), "dropped": dropped})

    def report(self) -> dict[str, Any]:
        """The report's ``shed`` section."""
        return {
            "budget_ms": round(self.budget_ms, 2),
            "order": list(SHEDS),
            "times_shed": dict(self.times_shed),
            "frames_shed": dict(self.frames_shed),
            "saving_ms": {name: round(ms, 2) for name, ms in self._saving.items()},
            "in_force_at_end": list(self.shed),
            "events": self.events,
        }


def shed_lines(shed: dict[str, Any] | None) -> list[str]:
    """The report's shed section in a line (none when shedding was off)."""
    if not shed:
        return []
    if not shed["times_shed"]:
        return [f"shed: nothing (frames kept within the {shed['budget_ms']:.1f} ms budget)"]
    parts = [
        f"{name} {shed['times_shed'][name]}x, {shed['frames_shed'].get(name, 0)} frames"
        for name in shed["order"]
        if name in shed["times_shed"]
    ]
    end = ", ".join(shed["in_force_at_end"]) or "nothing"
    return [f"shed (budget {shed['budget_ms']:.1f} ms): {'; '.join(parts)}; at the end: {end}"]
