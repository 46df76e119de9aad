"""What the studio takes off a running stream, on the stream's own output thread and without making it
wait: the newest frame for the preview (one reference store; the page's requests encode it on their
own threads), rolling live numbers, and a recording that runs on its own thread behind a queue that
drops rather than blocks.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import UserError
from ..core.queue import FrameQueue
from ..core.timing import percentiles
from ..run.processor import Processed
from ..sinks.base import OutputSettings, Stream
from ..sinks.fanout import Channel
from ..sinks.kinds import open_sink
from .views import Shot

# the live numbers cover the last WINDOW frames (5 s at 30 fps); the chart shows the last CHART
WINDOW = 150
CHART = 120


class StreamTap:
    def __init__(self) -> None:
        self.shot: Shot | None = None
        self._shots = 0
        self._face: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
        self._lock = threading.Lock()  # the rolling numbers; held for microseconds on either side
        self._recording: Channel | None = None
        self._recording_lock = threading.Lock()  # the page and the end of a run may both stop it
        self.start_run()

    def start_run(self) -> None:
        """A new run: its numbers start from zero (the last preview stays until its first frame)."""
        with self._lock:
            self.frames = 0
            self.frames_swapped = 0
            self.dropped = 0
            self.faces = 0
            self.faults: collections.Counter[str] = collections.Counter()
            self._times: collections.deque[float] = collections.deque(maxlen=WINDOW)
            self._latency: collections.deque[float] = collections.deque(maxlen=WINDOW)
            self._stages: collections.deque[dict[str, float]] = collections.deque(maxlen=WINDOW)
            self._media: collections.deque[tuple[int, float]] = collections.deque(maxlen=WINDOW)
            self.shed: tuple[str, ...] = ()  # the frame budget's steps in force (realtime/run/budget.py)
            self.frames_shed: collections.Counter[str] = collections.Counter()

    def on_output(self, result: Processed) -> None:
        """The stream's output callback: called once per frame after the outputs were written."""
        now = time.perf_counter()
        if result.aligned is not None:
            self._face = (result.aligned, result.rendered)
        camera = result.original if result.original is not None else result.image
        self._shots += 1
        self.shot = Shot(self._shots, camera, result.image, *self._face)
        with self._lock:
            if self._media and result.frame.index > self._media[-1][0] + 1:
                self.dropped += result.frame.index - self._media[-1][0] - 1
            self.frames += 1
            self.faces = result.faces_swapped
            if result.faces_swapped:
                self.frames_swapped += 1
            else:
                self.faults[result.fault or "no_face"] += 1
            self._times.append(now)
            self._latency.append((now - result.frame.timestamp) * 1e3)
            self._stages.append(result.stages_ms)
            self._media.append((result.frame.index, result.frame.media_time))
            self.shed = result.shed
            self.frames_shed.update(result.shed)
        recording = self._recording
        if recording is not None:
            recording.offer(result.image, result.frame)

    def numbers(self) -> dict[str, Any]:
        """fps, latency p50/p95 and the chart's latencies over the window, each stage's median, faces
        in the last frame, faults and dropped frames of this run, and what the frame budget sheds now
        (and in how many frames of this run each step was shed)."""
        with self._lock:
            times, latency, stages = list(self._times), list(self._latency), list(self._stages)
            counts = {
                "frames": self.frames,
                "frames_swapped": self.frames_swapped,
                "faces": self.faces,
                "dropped": self.dropped,
                "faults": dict(sorted(self.faults.items())),
                "shed": {"now": list(self.shed), "frames": dict(self.frames_shed)},
            }
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        names = list(dict.fromkeys(name for frame in stages for name in frame))
        stage_ms = {name: round(float(np.median([s.get(name, 0.0) for s in stages])), 2) for name in names}
        return {
            **counts,
            "fps": round(fps, 1),
            "latency_ms": percentiles(latency, (50, 95)),
            "chart_ms": [round(v, 1) for v in latency[-CHART:]],
            "stages_ms": stage_ms,
        }

    def frame_rate(self) -> float:
        """The stream's rate in its own timeline (frames per second of media time), 30 until known."""
        with self._lock:
            media = list(self._media)
        if len(media) < 2 or media[-1][1] <= media[0][1]:
            return 30.0
        return (media[-1][0] - media[0][0]) / (media[-1][1] - media[0][1])

    # recording: a Channel (realtime/sinks/fanout.py) of its own, so the encoder never holds up the stream

    @property
    def recording(self) -> dict[str, Any] | None:
        channel = self._recording
        if channel is None:
            return None
        return {"file": Path(channel.spec).name, "written": channel.written, **_channel_problems(channel)}

    def start_recording(self, path: Path, settings: OutputSettings) -> None:
        shot = self.shot
        if shot is None:
            raise UserError("nothing to record yet: wait for the preview to show the stream")
        with self._recording_lock:
            if self._recording is not None:
                raise UserError(f"already recording to {Path(self._recording.spec).name}: stop that recording first")
            height, width = shot.output.shape[:2]
            fps = self.frame_rate()
            sink = open_sink(f"file:{path}", Stream(width, height, fps, live=True), settings)
            # live pacing: a second of frames queued, the oldest dropped (and counted) when the encoder lags
            queue = FrameQueue(max(2, round(fps)), drop_oldest=True)
            self._recording = Channel(str(path), f"file:{path}", sink, queue)

    def stop_recording(self) -> dict[str, Any]:
        """Write what is queued and close the file (a complete, playable file); what it wrote."""
        with self._recording_lock:
            channel, self._recording = self._recording, None
        if channel is None:
            raise UserError("not recording: start a recording first")
        channel.close()
        return {"file": Path(channel.spec).name, "written": channel.written, **_channel_problems(channel)}

    def snapshot(self) -> np.ndarray:
        shot = self.shot
        if shot is None:
            raise UserError("nothing to snapshot yet: wait for the preview to show the stream")
        return shot.output


def _channel_problems(channel: Channel) -> dict[str, Any]:
    report = channel.report()
    return {"dropped": report["dropped"], **({"error": report["error"]} if "error" in report else {})}
