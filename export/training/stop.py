"""When training stops: a signal (Ctrl-C, SIGTERM) turned into a flag the loop checks, and the
iteration and time budgets."""

from __future__ import annotations

import signal
import threading
from typing import Any

from tqdm import tqdm

from ..settings import TrainSettings


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks, so the loop can save and exit; a second
    Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write("swapcam train: stopping: saving a checkpoint (Ctrl-C again to quit without saving)")

    def __enter__(self) -> StopRequest:
        if (
            threading.current_thread() is threading.main_thread()
        ):  # signal handlers can only be installed there (not in e.g. a test thread)
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def stop_reason(settings: TrainSettings, iteration: int, seconds: float, requested: bool) -> str | None:
    """Why training stops before this step (a stop was requested, a budget is spent), or None to go on."""
    if requested:
        return "interrupted"
    if settings.iterations and iteration >= settings.iterations:
        return "iteration budget reached"
    if settings.minutes and seconds >= settings.minutes * 60:
        return "time budget reached"
    return None
