"""Several outputs at once (``--output virtualcam --output file:rec.mp4``), none holding the others back.

One output is written on the loop's own thread, as it always was: no queue, no thread. With several,
each gets its own thread behind its own queue; only a window stays on the loop's thread (GUI toolkits
allow windows on the main thread only). A live output (virtual camera, window) has a drop-oldest
queue of one frame: when it is slow it shows the newest frame. A record (``file:``, ``images:``) must
not lose frames silently: in every-frame pacing its queue blocks the loop when full, so the run slows
to the recording's pace; in live pacing the loop never waits, so its queue holds a second of frames
and counts what it still had to drop.

An output that raises is closed and counted, and the others go on; when every output has failed the
run ends with a one-line error naming each output's fault.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import UserError
from ..core.queue import FrameQueue
from ..core.timing import MAX_SAMPLES, percentiles
from .base import FittedSink, OutputSettings, Sink, Stream
from .kinds import output_kind, resolve_output
from .recording import FileSink

if TYPE_CHECKING:
    from ..sources.base import Frame

# a record's queue in every-frame pacing: enough to ride out an encoder's burst, small in memory
RECORD_DEPTH = 8
# how long closing waits for an output thread to write what is queued and stop
CLOSE_TIMEOUT_S = 20.0


class Channel:
    """One output: its sink, and (when it has a thread) its queue; counts what happened to frames."""

    def __init__(self, spec: str, opened: str, sink: Sink, queue: FrameQueue | None, audio: str | None = None):
        self.spec, self.opened, self.sink, self.queue = spec, opened, sink, queue
        self.audio = audio  # what a recording does with the input's sound
        self.written = 0
        self.errors = 0
        self.error: str | None = None
        self.failed = False
        self.latency_ms: collections.deque[float] = collections.deque(maxlen=MAX_SAMPLES)
        self.thread: threading.Thread | None = None
        if queue is not None:
            self.thread = threading.Thread(target=self._loop, name=f"output {spec}", daemon=True)
            self.thread.start()

    def offer(self, image: np.ndarray, frame: Frame) -> None:
        """Hand a frame over: written now (no queue) or queued for this output's thread."""
        if self.failed:
            return
        if self.queue is None:
            self._write(image, frame)
        else:
            self.queue.put((image, frame))

    def _write(self, image: np.ndarray, frame: Frame) -> None:
        try:
            self.sink.write(image, frame)
        except Exception as err:  # an output's fault never stops the stream to the other outputs
            self._fail(err)
            return
        self.written += 1
        self.latency_ms.append((time.perf_counter() - frame.timestamp) * 1e3)

    def _loop(self) -> None:
        assert self.queue is not None
        while not self.failed and (item := self.queue.get()) is not None:
            self._write(*item)

    def _fail(self, err: BaseException) -> None:
        self.errors += 1
        self.error = self.error or (f"{type(err).__name__}: {err}".splitlines()[0][:200])
        self.failed = True
        if self.queue is not None:
            self.queue.close()  # the loop's next put returns at once
        self._close_sink()

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except Exception as err:
            self.errors += 1
            self.error = self.error or f"{type(err).__name__} on close: {err}".splitlines()[0][:200]

    def close(self) -> None:
        """Write what is queued, stop the thread, close the sink (once)."""
        if self.queue is not None:
            self.queue.close()
        if self.thread is not None:
            self.thread.join(CLOSE_TIMEOUT_S)
            if self.thread.is_alive():  # a hung device: leave it to the daemon thread
                self.errors += 1
                self.error = self.error or f"still writing after {CLOSE_TIMEOUT_S:.0f} s: not closed"
                return
        if not self.failed:
            self.failed = True
            self._close_sink()

    def report(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "written": self.written,
            "dropped": self.queue.dropped if self.queue is not None else 0,
            "errors": self.errors,
            "latency_ms": percentiles(self.latency_ms, (50, 95)),
        }
        if self.opened != self.spec:
            entry["opened"] = self.opened
        if self.error:
            entry["error"] = self.error
        if self.audio is not None:
            entry["audio"] = self.audio
        return entry


class Outputs:
    """The outputs of a run as one sink."""

    def __init__(self, channels: Sequence[Channel]):
        self.channels = list(channels)

    @property
    def closed_by_user(self) -> bool:
        return any(c.sink.closed_by_user for c in self.channels if not c.failed)

    def write(self, image: np.ndarray, frame: Frame) -> None:
        for channel in self.channels:
            channel.offer(image, frame)
        if all(c.failed for c in self.channels):
            raise UserError(
                "every output failed ("
                + "; ".join(f"{c.spec}: {c.error}" for c in self.channels)
                + "): fix the output or choose another with --output"
            )

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def report(self) -> dict[str, dict[str, Any]]:
        return {c.spec: c.report() for c in self.channels}


def _queue(spec: str, stream: Stream, threaded: bool) -> FrameQueue | None:
    kind = output_kind(spec)
    if not threaded or kind.main_thread:
        return None
    if not kind.every_frame:
        return FrameQueue(1, drop_oldest=True)
    if stream.live:
        return FrameQueue(max(2, round(stream.fps)), drop_oldest=True)
    return FrameQueue(RECORD_DEPTH, drop_oldest=False)


def open_outputs(specs: Sequence[str], stream: Stream, settings: OutputSettings, log: Callable[[str], None]) -> Outputs:
    """Open every output of ``specs`` (all or none: a failure closes those already open)."""
    if not specs:
        raise UserError(
            "no output given: use --output auto, virtualcam, window, file:out.mp4, images:DIR, udp://HOST:PORT or null"
        )
    repeated = sorted({spec for spec in specs if list(specs).count(spec) > 1})
    if repeated:
        raise UserError(f"output {repeated[0]} is given twice: give each output once")
    if sum(output_kind(spec).main_thread for spec in specs) > 1:
        raise UserError("only one window output can be open: drop the extra --output window")
    channels: list[Channel] = []
    try:
        for spec in specs:
            opened, sink, skipped = resolve_output(spec, stream, settings)
            if opened != spec:
                log(f"swapcam: --output {spec} → {opened}" + (f" ({'; '.join(skipped)})" if skipped else ""))
            audio = sink.audio_note if isinstance(sink, FileSink) else None
            if audio is not None and stream.source is not None and stream.source.is_file():
                log(f"swapcam: {opened}: audio {audio}")
            if not output_kind(opened).any_size:
                sink = FittedSink(sink, stream.width, stream.height)
            channels.append(Channel(spec, opened, sink, _queue(opened, stream, threaded=len(specs) > 1), audio))
    except BaseException:
        for channel in channels:
            channel.close()
        raise
    return Outputs(channels)
