"""The live loop: capture thread → front thread → back thread → output (calling thread), joined by
bounded queues that keep the newest frames.

The processing is split in two halves (realtime/run/processor.py): the front (detect, hands,
stabilize) of frame N+1 runs beside the back (align, swap, mask, colour, blend) of frame N, so two
cores work at once (mediapipe and onnxruntime release the GIL) and a frame still takes one frame's
work from capture to output. ``--no-overlap`` runs both halves on one thread, as before.

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
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..core.queue import FrameQueue
from ..core.settings import Settings, setting
from ..sinks.base import Sink
from ..sources.base import Frame, Source
from .budget import FrameBudget
from .processor import Fronted, Processed
from .report import RunStats
from .stopping import stop_requests


@runtime_checkable
class Halves(Protocol):
    """A frame processor in two halves that may run on two threads, one frame apart."""

    def front(self, frame: Frame, width: int, height: int) -> Fronted: ...

    def back(self, fronted: Fronted) -> Processed: ...


@dataclass(frozen=True)
class PipelineSettings(Settings):
    section = "pipeline"
    queue_depth: int = setting(1, "frames waiting between stages (1 = lowest latency)", low=1, high=2)
    max_frames: int = setting(0, "stop after this many output frames (0 = until the input ends)", low=0)
    seconds: float = setting(0.0, "stop after this many seconds (0 = no limit)", low=0.0)
    # On by default: at 720p on a 2-core AVX2 EPYC the front and the back each take about half a
    # frame's work, and they overlap (RESULTS.md)
    overlap: bool = setting(
        True, "find the next frame's faces and hands on a second thread while this frame is swapped"
    )


class Pipeline:
    """Runs source → processor → sink until the input ends, a limit is reached, Ctrl-C or SIGTERM.

    ``own_size``: process each frame at its own size (photos of different sizes) instead of
    conforming it to width × height; the sink receives it so. ``stop``: an event another thread sets
    to end the run as if the input had ended. ``budget``: told of every frame that comes out, it
    decides what the processor sheds (realtime/run/budget.py)."""

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
        budget: FrameBudget | None = None,
    ):
        self.own_size = own_size
        self.budget = budget
        self.source = source
        self.process = process
        self.sink = sink
        self.width, self.height = width, height
        self.settings = settings
        self.on_output = on_output
        live = source.live
        self.captured = FrameQueue(settings.queue_depth, drop_oldest=live)
        self.fronted = FrameQueue(settings.queue_depth, drop_oldest=live)  # between the two halves
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

    def _size(self, frame: Frame) -> tuple[int, int]:
        if self.own_size and isinstance(frame.image, np.ndarray) and frame.image.ndim == 3:
            return frame.image.shape[1], frame.image.shape[0]
        return self.width, self.height

    def _pump(self, inbox: FrameQueue, step: Callable[[Any], Any], outbox: FrameQueue) -> None:
        """A processing thread: ``step`` every item of ``inbox`` into ``outbox`` until ``inbox`` ends."""
        try:
            while (item := inbox.get()) is not None:
                outbox.put(step(item))
        except BaseException as err:  # surfaced in run(); the stream ends as if the input ended
            self._errors.append(err)
        finally:
            outbox.close()

    def _thread(self, name: str, inbox: FrameQueue, step: Callable[[Any], Any], outbox: FrameQueue) -> threading.Thread:
        return threading.Thread(target=self._pump, args=(inbox, step, outbox), name=name, daemon=True)

    def _threads(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._capture_loop, name="capture", daemon=True)]
        halves = self.process
        if self.settings.overlap and isinstance(halves, Halves):
            threads += [
                self._thread(
                    "front", self.captured, lambda frame: halves.front(frame, *self._size(frame)), self.fronted
                ),
                self._thread("back", self.fronted, halves.back, self.processed),
            ]
        else:
            whole = self.process
            threads.append(
                self._thread("process", self.captured, lambda frame: whole(frame, *self._size(frame)), self.processed)
            )
        return threads

    def run(self) -> RunStats:
        threads = self._threads()
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        try:
            with stop_requests(self._request_stop):
                while (result := self.processed.get()) is not None:
                    writing = time.perf_counter()
                    self.sink.write(result.image, result.frame)
                    written = time.perf_counter()
                    self.stats.output(result, written)
                    if self.budget is not None:
                        self.budget.observe(result, (written - writing) * 1e3, self._dropped())
                    if self.on_output is not None:
                        self.on_output(result)
                    if self._limit_reached(started) or self.sink.closed_by_user or self._stopped_from_outside():
                        break
        except KeyboardInterrupt:  # Ctrl-C a second time: the orderly stop did not come soon enough
            print("swapcam: stopping now", file=sys.stderr)
        finally:
            self.stop.set()
            self.captured.close()
            self.fronted.close()
            self.processed.close()
            for thread in threads:
                thread.join(timeout=5)
            self.stats.dropped = self._dropped()
        if self._errors:
            raise self._errors[0]
        return self.stats

    def _dropped(self) -> int:
        """Frames dropped so far: skipped by the source, or pushed out of a queue by a newer one."""
        queues = (self.captured, self.fronted, self.processed)
        return self.source.skipped + sum(queue.dropped for queue in queues)

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
