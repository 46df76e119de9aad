"""Ctrl-C (SIGINT) and SIGTERM (``kill``, a service manager, a container stopping) end a stream the same
way: they ask it to stop, and it stops between frames and closes its outputs, so a recording is a
complete file (its index written, its sound closed) and the exit status is 0.

A request only sets a flag (and calls back): no exception lands in the middle of an encoder's write.
A second Ctrl-C interrupts at once (KeyboardInterrupt), for a stop that hangs. A SIGINT that was
ignored when the program started (``nohup``, a background job) stays ignored.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

REASONS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


@contextmanager
def stop_requests(on_stop: Callable[[], None]) -> Iterator[None]:
    """While inside: SIGINT and SIGTERM print ``swapcam: stopping (REASON)`` once and call ``on_stop``.
    Only the main thread can take signals; elsewhere (a test's thread) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    requested: list[str] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        if requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not requested:
            requested.append(REASONS[signal.Signals(signum)])
            print(f"swapcam: stopping ({requested[0]})", file=sys.stderr, flush=True)
            on_stop()

    wanted = [s for s in REASONS if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.signal(s, handle) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
