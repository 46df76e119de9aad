"""The live loop: capture thread → processing thread → output (calling thread), joined by bounded
queues that keep the newest frames.

Low latency first: when processing falls behind a live source, the oldest queued frame is dropped
(counted), so the output never trails the camera by more than the queue depth; no frame is
processed twice. With ``every`` pacing the queues block instead and every frame is processed.

Faults never stop the stream: no face, a malformed frame, a NaN/Inf model output or an unexpected
error in a stage make the original frame pass through, and the reason is counted in the report.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.queue import FrameQueue
from ..core.settings import Settings, setting
from ..sinks.base import Sink
from ..sources.base import Frame, Source
from .processor import Processed
from .report import RunStats
from .stopping import stop_requests


@dataclass(frozen=True)
class PipelineSettings(Settings):
    section = "pipeline"
    queue_depth: int = setting(1, "frames waiting between stages (1 = lowest latency)", low=1, high=2)
    max_frames: int = setting(0, "stop after this many output frames (0 = until the input ends)", low=0)
    seconds: float = setting(0.0, "stop after this many seconds (0 = no limit)", low=0.0)


class Pipeline:
    """Runs source → processor → sink until the input ends, a limit is reached, Ctrl-C or SIGTERM.

    ``own_size``: process each frame at its own size (photos of different sizes) instead of
    conforming it to width × height; the sink receives it so. ``stop``: an event another thread sets
    to end the run as if the input had ended."""

    def __init__(
        self,
        source: Source,
        process: Callable[[Frame, int, int], Processed],
        sink: Sink,
        width: int,
        height: int,
        settings: PipelineSettings = PipelineSettings(),
        on_output: Callable[[Processed], None] | None = None,
        own_size: bool = False,
        stop: threading.Event | None = None,
    ):
        self.own_size = own_size
        self.source = source
        self.process = process
        self.sink = sink
        self.width, self.height = width, height
        self.settings = settings
        self.on_output = on_output
        live = source.live
        self.captured = FrameQueue(settings.queue_depth, drop_oldest=live)
        self.processed = FrameQueue(settings.queue_depth, drop_oldest=live)
        # set by Ctrl-C, a limit, or whoever handed it in (the studio, to switch input or model)
        self.stop = stop if stop is not None else threading.Event()
        self._draining = False  # Ctrl-C or SIGTERM: the frames in flight are still written
        self.stats = RunStats()
        self._errors: list[BaseException] = []

    def _capture_loop(self) -> None:
        try:
            while not self.stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                self.stats.captured(frame.timestamp)
                self.captured.put(frame)
        except BaseException as err:  # surfaced in run(); the stream ends as if the input ended
            self._errors.append(err)
        finally:
            self.captured.close()

    def _process_loop(self) -> None:
        try:
            while (frame := self.captured.get()) is not None:
                width, height = self.width, self.height
                if self.own_size and isinstance(frame.image, np.ndarray) and frame.image.ndim == 3:
                    height, width = frame.image.shape[:2]
                self.processed.put(self.process(frame, width, height))
        except BaseException as err:
            self._errors.append(err)
        finally:
            self.processed.close()

    def run(self) -> RunStats:
        threads = [
            threading.Thread(target=self._capture_loop, name="capture", daemon=True),
            threading.Thread(target=self._process_loop, name="process", daemon=True),
        ]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        try:
            with stop_requests(self._request_stop):
                while (result := self.processed.get()) is not None:
                    self.sink.write(result.image, result.frame)
                    self.stats.output(result, time.perf_counter())
                    if self.on_output is not None:
                        self.on_output(result)
                    if self._limit_reached(started) or self.sink.closed_by_user or self._stopped_from_outside():
                        break
        except KeyboardInterrupt:  # Ctrl-C a second time: the orderly stop did not come soon enough
            print("swapcam: stopping now", file=sys.stderr)
        finally:
            self.stop.set()
            self.captured.close()
            self.processed.close()
            for thread in threads:
                thread.join(timeout=5)
            self.stats.dropped = self.source.skipped + self.captured.dropped + self.processed.dropped
        if self._errors:
            raise self._errors[0]
        return self.stats

    def _request_stop(self) -> None:
        """Ctrl-C or SIGTERM: capture no more; the frames already captured are processed and written,
        then the loop ends as at the end of the input."""
        self._draining = True
        self.stop.set()
        self.captured.close()

    def _stopped_from_outside(self) -> bool:
        """The ``stop`` event was set by another thread (the studio switching input or model): end now,
        not after the frames in flight as on Ctrl-C."""
        return self.stop.is_set() and not self._draining

    def _limit_reached(self, started: float) -> bool:
        s = self.settings
        if s.max_frames and self.stats.frames >= s.max_frames:
            return True
        return bool(s.seconds) and time.perf_counter() - started >= s.seconds
